from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from supervision.risk.calibration import WINDOW_DAYS, policy_calibrate


class Command(BaseCommand):
    help = (
        "Fit the scoring weights on imported history before a date (logistic regression on the factor "
        "features) and save them as a candidate policy version, to compare in the back-test."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--before", required=True, help="read nothing dated on or after this day, YYYY-MM-DD"
        )
        parser.add_argument("--months", type=int, default=12, help="monthly cuts to learn from (default 12)")
        parser.add_argument("--note", default="", help="what this candidate is for")

    def handle(self, *args, **options):
        try:
            before = date.fromisoformat(options["before"])
        except ValueError:
            raise CommandError(
                f"--before: {options['before']!r} is not a date in the form YYYY-MM-DD"
            ) from None
        try:
            report = policy_calibrate(
                actor=None, before=before, months=options["months"], note=options["note"]
            )
        except DomainError as exc:
            details = f" {exc.details}" if exc.details else ""
            raise CommandError(f"nothing saved: {exc.message} ({exc.code}){details}") from exc
        write = self.stdout.write
        write(
            f"candidate v{report.policy.version} (not adopted), from v{report.base.version}: "
            f"{report.n} inspections, {report.n_critical} critical, in {WINDOW_DAYS}-day windows after "
            f"{len(report.cuts)} cuts {report.cuts[0]}..{report.cuts[-1]}"
        )
        write(f"{'factor':<24}{'coefficient':>12}{'weight was':>12}{'weight':>10}  90% of refits")
        for entry in report.model_card["factors"]:
            factor = entry["name"]
            coefficient = report.coefficients.get(factor)
            shown = f"{coefficient:+.3f}" if coefficient is not None else "constant"
            low, high = entry["weight_interval"]
            spread = f"  {low:.1f}-{high:.1f}" if low is not None else ""
            write(
                f"{factor:<24}{shown:>12}{float(report.base.weights[factor]):>12.2f}"
                f"{float(report.weights[factor]):>10.2f}{spread}"
            )
            for value, mapped in report.values.get(factor, {}).items():
                write(f"    {value[:40]:<40} -> {mapped:g}")
        write(f"model card: /ranking/policies/{report.policy.version}/card")
        write(
            f"compare: manage.py backtest --start {before} --days {WINDOW_DAYS} "
            f"--compare {report.base.version},{report.policy.version}"
        )
