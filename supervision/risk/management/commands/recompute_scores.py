from django.core.management.base import BaseCommand, CommandError

from supervision.models import ScoringPolicy
from supervision.risk import scoring


class Command(BaseCommand):
    help = (
        "Rescore every enterprise with the current scoring policy (or --policy VERSION), set-based, "
        "in chunks of enterprise ids. For a nightly run; regulators start the same from the ranking."
    )

    def add_arguments(self, parser):
        parser.add_argument("--policy", type=int, help="policy version (default: the current one)")
        parser.add_argument("--chunk", type=int, default=scoring.CHUNK, help="enterprise ids per statement")

    def handle(self, *args, **options):
        policy = scoring.current_policy()
        if options["policy"] is not None:
            policy = ScoringPolicy.objects.filter(version=options["policy"]).first()
            if policy is None:
                raise CommandError(f"no scoring policy version {options['policy']}")
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")

        def progress(done, total):
            if options["verbosity"] >= 2:
                self.stdout.write(f"  chunk {done}/{total}")

        report = scoring.recompute_all(policy=policy, chunk=options["chunk"], progress=progress)
        self.stdout.write(
            f"scored {report.enterprises} enterprises with policy v{report.policy_version} "
            f"in {report.seconds:.1f} s ({report.chunks} chunks)"
        )
