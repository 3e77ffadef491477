import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from supervision.models import ScoringPolicy
from supervision.risk.backtest import METRICS, backtest
from supervision.risk.scoring import current_policy


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--start: {value!r} is not a date in the form YYYY-MM-DD") from None


def _policy(version: str) -> ScoringPolicy:
    try:
        return ScoringPolicy.objects.get(version=int(version.strip().lstrip("vV")))
    except (ValueError, ScoringPolicy.DoesNotExist):
        known = ", ".join(
            str(v) for v in ScoringPolicy.objects.order_by("version").values_list("version", flat=True)
        )
        raise CommandError(f"no scoring policy version {version!r} (known: {known or 'none'})") from None


class Command(BaseCommand):
    help = (
        "Back-test scoring policies: score every enterprise with the facts known before START, "
        "hand the real inspection dates of [START, START + DAYS) out in score order, and report how "
        "much earlier the critical violations would have been found (against random orders)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day of the window, YYYY-MM-DD")
        parser.add_argument("--days", required=True, type=int, help="length of the window in days")
        parser.add_argument("--policy", help="policy version (default: the current policy)")
        parser.add_argument("--compare", help="two or more policy versions side by side, e.g. 1,4")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random orders (default 0)")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print exactly one JSON object (with --compare: one per version, keyed v<version>)",
        )

    def handle(self, *args, **options):
        start = _day(options["start"])
        if options["compare"] and options["policy"]:
            raise CommandError("give --policy or --compare, not both")
        if options["compare"]:
            policies = [_policy(v) for v in options["compare"].split(",") if v.strip()]
            if len(policies) < 2:
                raise CommandError("--compare needs at least two versions, e.g. --compare 1,4")
        else:
            policies = [_policy(options["policy"]) if options["policy"] else current_policy()]
        results = {}
        for policy in policies:
            try:
                results[policy.version] = backtest(
                    start=start, days=options["days"], policy=policy, seed=options["seed"]
                )
            except DomainError as exc:
                details = f" {exc.details}" if exc.details else ""
                raise CommandError(f"v{policy.version}: {exc.message} ({exc.code}){details}") from exc
        if options["json"]:
            metrics = {version: {key: result[key] for key in METRICS} for version, result in results.items()}
            payload = (
                metrics[policies[0].version]
                if len(policies) == 1
                else {f"v{v}": m for v, m in metrics.items()}
            )
            self.stdout.write(json.dumps(payload))
            return
        self._table(start, options["days"], results)

    def _table(self, start: date, days: int, results: dict) -> None:
        first = next(iter(results.values()))
        write = self.stdout.write
        write(f"back-test {start} + {days} days")
        write(
            f"  {first['n_inspections']} inspections of {first['n_enterprises']} enterprises, "
            f"{first['n_critical']} with a critical finding, "
            f"{first['first_half_share_actual']:.1%} of those in the first half in reality"
        )
        write(f"  random: mean of {first['random_orders']} random orders, seed {first['seed']}")
        rows = [
            ("critical found earlier (days, mean)", "days_earlier", "random_days_earlier", "{:+.2f}"),
            ("critical in the first half", "first_half_share_ranked", "first_half_share_random", "{:.1%}"),
            ("AUC of the score for critical", "auc", None, "{:.3f}"),
        ]
        width = max(len(label) for label, *_ in rows)
        columns = [f"v{version}" for version in results] + ["random"]
        write(f"{'':<{width}}" + "".join(f"{c:>10}" for c in columns))
        for label, key, random_key, form in rows:
            values = [result[key] for result in results.values()]
            values.append(first[random_key] if random_key else 0.5)
            write(f"{label:<{width}}" + "".join(f"{form.format(v):>10}" for v in values))
