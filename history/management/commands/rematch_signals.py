from django.core.management.base import BaseCommand

from history.models import Signal
from history.sources.matching import signals_rematch


class Command(BaseCommand):
    help = (
        "Match every keyed signal still waiting for its business to the enterprises registered since it "
        "arrived (done by itself when enterprises are imported; this catches up after a restore or a bulk "
        "load done outside the importers). Running it again changes nothing."
    )

    def handle(self, *args, **options):
        result = signals_rematch()
        waiting = Signal.objects.filter(Signal.unmatched_q()).count()
        self.stdout.write(
            f"signals matched: {result.signals:,} (to {result.enterprises:,} enterprises); "
            f"still waiting for their business: {waiting:,}"
        )
