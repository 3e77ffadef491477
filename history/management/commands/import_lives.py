from django.core.management.base import BaseCommand, CommandError

from history.lives import LivesFileError, lives_import


class Command(BaseCommand):
    help = (
        "Import a LIVES folder (businesses*.csv, inspections*.csv, violations*.csv) as enterprises "
        "and inspection history. Bad rows are reported and skipped; running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder holding the three LIVES CSV files")
        parser.add_argument(
            "--district", default="110105", help="district code of every business (default: Chaoyang)"
        )
        parser.add_argument(
            "--scene", default="catering", help="scene code of every business (default: catering)"
        )

    def handle(self, *args, **options):
        try:
            report = lives_import(
                directory=options["directory"], district_code=options["district"], scene_code=options["scene"]
            )
        except (LivesFileError, OSError) as exc:
            raise CommandError(f"nothing imported: {exc}") from exc
        for error in report.errors:
            value = f" ({error.value!r})" if error.value else ""
            self.stderr.write(
                f"{error.file}, line {error.line}, column {error.column}: {error.reason}{value}"
            )
        for feed, description in report.files.items():
            self.stdout.write(f"{feed}: {description}")
        for name, count in report.counts.items():
            self.stdout.write(f"{name}: {count}")
        self.stdout.write(f"done in {report.seconds:.1f} s")
