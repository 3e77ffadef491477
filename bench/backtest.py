"""Back-test numbers on the San Francisco LIVES archive: the default policy, a policy calibrated on
the history before each window, single-factor policies (which factor carries the ranking), and
random orders.

Imports /work/shared/data/sf into a throw-away SQLite database (about 6 s), then for each window
(61 days from each --start) prints n, days_earlier, AUC and the first-half shares. The calibrated
candidate of a window is fitted on the 12 months before that window's start only.

    .venv/bin/python bench/backtest.py [--data /work/shared/data/sf] [--start 2015-09-01 ...]

Not a test: it prints numbers to compare. The archive's inspections run to 2016-02-01, so a window
must start by early December 2015 to be full.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINDOWS = ("2015-09-01", "2015-03-01", "2015-11-01")
DAYS = 61


def _setup() -> None:
    workdir = tempfile.mkdtemp(prefix="bench-backtest-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        VAR_DIR=workdir,
        DATABASE_URL=f"sqlite:///{workdir}/bench.sqlite3",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _single(factor: str):
    from supervision.risk import scoring

    weights = dict.fromkeys(scoring.FACTORS, 0)
    weights[factor] = 1
    base = scoring.current_policy()
    return scoring.policy_create(
        actor=None, weights=weights, params=base.params, note=f"bench: {factor} only", adopt=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/shared/data/sf")
    parser.add_argument("--start", nargs="+", default=list(WINDOWS))
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--months", type=int, default=12, help="calibration history per window")
    args = parser.parse_args()
    _setup()

    from history.lives import lives_import
    from supervision.risk import scoring
    from supervision.risk.backtest import backtest
    from supervision.risk.calibration import policy_calibrate

    started = time.perf_counter()
    report = lives_import(directory=args.data)
    print(f"imported {report.counts} in {time.perf_counter() - started:.1f} s")
    default = scoring.current_policy()
    singles = {factor: _single(factor) for factor in ("violations", "visit_gap")}
    print(f"default v{default.version}: {default.weights}")

    header = f"{'window':<12}{'policy':<26}{'n':>6}{'crit':>6}{'days_earlier':>14}{'auc':>8}"
    header += f"{'1st half real':>15}{'1st half ranked':>17}{'seconds':>9}"
    for start_text in args.start:
        start = date.fromisoformat(start_text)
        print()
        started = time.perf_counter()
        calibrated = policy_calibrate(actor=None, before=start, months=args.months, note="bench")
        fit_seconds = time.perf_counter() - started
        fitted = {f: calibrated.weights[f] for f in calibrated.coefficients}
        coefficients = {f: round(c, 3) for f, c in calibrated.coefficients.items()}
        print(
            f"{start}: calibrated v{calibrated.policy.version} on {calibrated.n} inspections "
            f"({calibrated.n_critical} critical) before {start} in {fit_seconds:.1f} s; "
            f"coefficients {coefficients}; weights {fitted}"
        )
        print(header)
        rows = [
            (f"default v{default.version}", default),
            (f"calibrated v{calibrated.policy.version}", calibrated.policy),
            *((f"{factor} only v{p.version}", p) for factor, p in singles.items()),
        ]
        result = None
        for label, policy in rows:
            started = time.perf_counter()
            result = backtest(start=start, days=args.days, policy=policy)
            print(
                f"{start_text:<12}{label:<26}{result['n_inspections']:>6}{result['n_critical']:>6}"
                f"{result['days_earlier']:>+14.2f}{result['auc']:>8.3f}"
                f"{result['first_half_share_actual']:>15.1%}{result['first_half_share_ranked']:>17.1%}"
                f"{time.perf_counter() - started:>9.2f}"
            )
        print(
            f"{start_text:<12}{'random (mean of 100)':<26}"
            f"{result['n_inspections']:>6}{result['n_critical']:>6}"
            f"{result['random_days_earlier']:>+14.2f}{0.5:>8.3f}"
            f"{result['first_half_share_actual']:>15.1%}{result['first_half_share_random']:>17.1%}"
            f"{'':>9}   sd of days_earlier {result['random_days_earlier_sd']:.2f}"
        )


if __name__ == "__main__":
    main()
