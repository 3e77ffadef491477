from django.core.management.base import BaseCommand, CommandError

from history.models import DataSource, SourceBatch
from history.sources import IngestError
from history.sources.files import ExchangeFileError, error_lines, import_exchange_file


class Command(BaseCommand):
    help = (
        "Import one attributes.csv of the exchange format (business_id, name, value, valid_from, source) "
        "for a data source. Checked like an API batch: a file with bad rows is refused whole, every problem "
        "listed; running it again changes nothing."
    )
    content = SourceBatch.Content.ATTRIBUTES

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--source", required=True, help="the data source's code (rows of another are refused)"
        )

    def handle(self, *args, **options):
        source = DataSource.objects.filter(code=options["source"]).first()
        if source is None:
            raise CommandError(f"nothing imported: no data source has the code {options['source']!r}")
        try:
            report = import_exchange_file(path=options["file"], content=self.content, source=source)
        except (ExchangeFileError, OSError) as exc:
            raise CommandError(f"nothing imported: {exc}") from exc
        except IngestError as exc:
            for line in error_lines(exc, options["file"]):
                self.stderr.write(line)
            raise CommandError(f"nothing imported: {exc.message}") from exc
        result = report.sources.get(source.code)
        self.stdout.write(
            f"{report.file}: {result.rows if result else 0} rows, {report.total('created')} new, "
            f"{report.total('unchanged')} already stored, "
            f"{report.total('unmatched_count')} with a business key no enterprise has"
        )
        if report.folded():
            self.stdout.write(report.folded())
