from django.core.management.base import BaseCommand, CommandError

from planning.draws import draw_verify
from planning.models import Draw


class Command(BaseCommand):
    help = (
        "Re-run a double-random draw from its recorded seed and inputs and compare with the recorded "
        "result (and with the audit chain); exit non-zero at the first mismatch. Whether today's pool "
        "for the same filters differs is reported separately and is not a mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("draw_id", type=int)

    def handle(self, *args, draw_id: int, **options):
        draw = Draw.objects.filter(pk=draw_id).first()
        if draw is None:
            raise CommandError(f"no draw #{draw_id}", returncode=2)
        report = draw_verify(draw=draw)
        pool = report.pool
        if pool.changed:
            self.stdout.write(
                f"note: today's pool for the same filters differs from the recorded one "
                f"({pool.added} added, {pool.removed} removed, {pool.retiered} in another tier); "
                "this does not affect the draw"
            )
        else:
            self.stdout.write("note: today's pool for the same filters is the recorded one")
        if not report.ok:
            raise CommandError(f"draw #{draw.pk} mismatch: {report.mismatch}", returncode=1)
        self.stdout.write(f"ok: draw #{draw.pk} ({report.entries} entries) reproduces from seed {draw.seed}")
