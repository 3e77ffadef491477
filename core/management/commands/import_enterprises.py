from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.importers import ImportFileError, import_enterprises


class Command(BaseCommand):
    help = (
        "Import enterprises from a CSV file with the columns uscc, name, address, district_code, scene_code. "
        "Good rows are imported and bad ones reported; exits non-zero when nothing could be imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, UTF-8 (with or without BOM) or GB18030/GBK")
        parser.add_argument(
            "--strict", action="store_true", help="all or nothing: import no row if any row is bad"
        )
        parser.add_argument("--encoding", help="the file's encoding, instead of detecting it")

    def handle(self, *args, **options):
        try:
            report = import_enterprises(
                path_or_stream=options["file"], encoding=options["encoding"], strict=options["strict"]
            )
        except (ImportFileError, OSError) as exc:
            raise CommandError(_("nothing imported: %(reason)s") % {"reason": exc}) from exc

        for error in report.errors:
            if error.column:
                line = _("line %(line)d, column %(column)s: %(reason)s")
            else:
                line = _("line %(line)d: %(reason)s")
            self.stderr.write(line % {"line": error.line, "column": error.column, "reason": error.reason})
        if report.errors_not_listed:
            self.stderr.write(
                _("… and %(count)d more errors, not listed") % {"count": report.errors_not_listed}
            )

        summary = _("imported %(imported)d enterprises, rejected %(rejected)d rows") % {
            "imported": report.imported,
            "rejected": report.rejected,
        }
        if report.strict and report.rejected:
            raise CommandError(_("%(summary)s (strict mode: nothing imported)") % {"summary": summary})
        if report.failed:
            raise CommandError(summary)
        self.stdout.write(summary)
