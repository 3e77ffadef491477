from django.core.management.base import BaseCommand, CommandError

from core.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit chain and check every event's hash and link; exit non-zero at the first broken one."
    )

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit chain broken at event #{report.broken_seq}: {report.reason} "
                f"({report.events} events before it verified)"
            )
        self.stdout.write(f"audit chain ok: {report.events} events")
