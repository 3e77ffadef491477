import json

from django.core.management.base import BaseCommand

from supervision.risk import offsite
from supervision.risk.scoring import current_policy, policy_offsite_example


class Command(BaseCommand):
    help = (
        "Add the example off-site factors (licence and health registers, 311/12345 hotline: risk class, "
        "facility type, licensed activities, licence age, sanitation complaints nearby) to the current "
        "scoring policy as a new version: a candidate to back-test and calibrate, or adopted at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--adopt", action="store_true", help="adopt the new version at once")
        parser.add_argument("--print", action="store_true", help="only print the example, save nothing")

    def handle(self, *args, **options):
        if options["print"]:
            example = {"offsite": offsite.EXAMPLE_OFFSITE, "weights": offsite.EXAMPLE_WEIGHTS}
            self.stdout.write(json.dumps(example, ensure_ascii=False, indent=1))
            return
        base = current_policy()
        policy = policy_offsite_example(actor=None, base=base, adopt=options["adopt"])
        names = ", ".join(offsite.names(policy.params))
        state = "adopted" if policy.adopted_at else "candidate, not adopted"
        self.stdout.write(f"v{policy.version} ({state}) with the off-site factors: {names}")
        if not policy.adopted_at:
            self.stdout.write(
                "compare: manage.py backtest --start YYYY-MM-DD --days 61 "
                f"--compare {base.version},{policy.version}"
            )
