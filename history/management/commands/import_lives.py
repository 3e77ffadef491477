from django.core.management.base import BaseCommand, CommandError

from history.lives import LivesFileError, lives_import
from history.sources.files import error_lines


class Command(BaseCommand):
    help = (
        "Import a LIVES folder (businesses*.csv, inspections*.csv, violations*.csv) as enterprises "
        "and inspection history. Bad rows are reported and skipped; running it again changes nothing. "
        "Then attributes.csv and signals.csv if the folder holds them (other departments' data, "
        "creating the sources they name): each accepted whole or refused whole."
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
        for imported in report.exchange:
            for code in imported.created_sources:
                self.stdout.write(f"{imported.file}: created the data source {code}")
            for code, result in imported.sources.items():
                self.stdout.write(
                    f"{imported.file} ({code}): {result.rows} rows, {result.created} new, "
                    f"{result.unchanged} already stored, {result.unmatched_count} unmatched"
                )
            if imported.folded():
                self.stdout.write(imported.folded())
        self.stdout.write(f"done in {report.seconds:.1f} s")
        for file, exc in report.exchange_refused:
            for line in error_lines(exc, file):
                self.stderr.write(line)
        if report.exchange_refused:
            refused = ", ".join(f"{file} ({exc.message})" for file, exc in report.exchange_refused)
            raise CommandError(f"the LIVES feeds were imported, but not: {refused}")
