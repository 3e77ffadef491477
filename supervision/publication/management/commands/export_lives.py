from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.models import District
from supervision.publication.lives_export import lives_export


class Command(BaseCommand):
    help = (
        "Export published inspection results as open data in the LIVES format (businesses.csv, "
        "inspections.csv, violations.csv): the format import_lives reads."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder to write the three files into (created if missing)")
        parser.add_argument("--district", help="district code: only enterprises in its subtree")

    def handle(self, *args, **options):
        district = None
        if options["district"]:
            district = District.objects.filter(code=options["district"]).first()
            if district is None:
                raise CommandError(f"unknown district code {options['district']!r}")
        try:
            report = lives_export(Path(options["directory"]), district=district)
        except OSError as exc:
            raise CommandError(f"cannot write {options['directory']}: {exc}") from exc
        for name, count in report.counts.items():
            self.stdout.write(f"{name}: {count}")
        self.stdout.write(f"written to {report.directory}")
