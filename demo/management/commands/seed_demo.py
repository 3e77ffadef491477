from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core import codes
from core.errors import DomainError
from core.models import AuditEvent, Enterprise, IdentityCode
from demo.enterprises import business_enterprise, demo_enterprises
from demo.logins import DEMO_USERS, demo_password, login_table
from demo.past import DEFAULT_SEED, HISTORY_LIMIT, HistoryResult
from demo.seed import demo_seed


def _plain(text: str) -> str:
    return text


def real_data() -> dict[str, int]:
    """What this database holds that the demo did not make: enterprises without the demo's marker in
    their USCC, and users who can sign in other than the demo logins (the people of the demo's past
    have unusable passwords). Logins named like the demo's count too until seed_demo has run here
    once: a real superuser may well be called admin. Empty on a fresh or demo-only database."""
    users = get_user_model().objects.exclude(password__startswith="!")  # make_password(None): no sign-in
    if AuditEvent.objects.filter(action="demo.seed").exists():
        users = users.exclude(username__in=[spec.username for spec in DEMO_USERS])
    found = {
        "enterprises": Enterprise.objects.exclude(pk__in=demo_enterprises().values("pk")).count(),
        "users": users.count(),
    }
    return {what: n for what, n in found.items() if n}


def check_password(password: str) -> None:
    """The demo logins' password passes AUTH_PASSWORD_VALIDATORS, as each of those users (it is the
    admin's too)."""
    User = get_user_model()
    problems: list[str] = []
    for spec in DEMO_USERS:
        user = User(username=spec.username, first_name=spec.first_name, last_name=spec.last_name)
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            problems += [message for message in exc.messages if message not in problems]
    if problems:
        raise CommandError("--password refused: " + " ".join(problems))


class Command(BaseCommand):
    help = (
        "Load demo data: N realistic Beijing enterprises (every district and scene), one login per "
        "role and scope, and two years of supervision past for the first "
        f"{HISTORY_LIMIT:,} of them (inspections, orders, complaints, self-inspections, credit events, "
        "and imported records before that), then recompute the scores. Safe to run again: it creates "
        "only the missing enterprises and past, and resets the demo logins' password (the admin's "
        "included). Refused on a database with data of its own (enterprises or users that are not the "
        "demo's) unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--enterprises",
            type=int,
            default=500,
            metavar="N",
            help="demo enterprises there should be in total (default 500; 2,500,000 is the size of the city)",
        )
        parser.add_argument(
            "--password",
            help="password for every demo login, the superuser admin's included; it must pass the "
            "password validators (default: a new random one, printed at the end)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="run on a database that holds data of its own (it resets the admin login's password)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"the past's random seed: the same seed tells the same past (default {DEFAULT_SEED}); "
            "a database that has a past keeps the seed it was first told with",
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="enterprises and logins only, no past and no recompute (load tests of millions)",
        )

    def handle(
        self,
        *args,
        enterprises: int,
        password: str | None,
        seed: int,
        no_history: bool,
        force: bool = False,
        **options,
    ):
        if password is not None:
            check_password(password)
        found = real_data()
        if found and not force:
            held = ", ".join(f"{n:,} {what}" for what, n in found.items())
            raise CommandError(
                f"This database holds data that is not the demo's ({held}). seed_demo would add demo "
                "enterprises and reset the demo logins' password, the superuser admin's included. "
                "Run it on a database of its own, or add --force if this one is a demo."
            )
        password = password or demo_password()
        try:
            result = demo_seed(
                enterprises=enterprises,
                password=password,
                progress=self._progress,
                history=not no_history,
                seed=seed,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"demo enterprises: {result.enterprises_demo_total:,} ({result.enterprises_created:,} created)"
        )
        if result.history is not None:
            self.stdout.write(self._history(result.history, seed))
        self.stdout.write(
            f"demo logins: {len(result.users_created)} created, {len(result.users_updated)} reset\n"
        )
        self.stdout.write(login_table(result.logins, password))
        code = IdentityCode.objects.filter(enterprise=business_enterprise(), status="active").first()
        if code:
            self.stdout.write(f"\nscan the business's code: {codes.code_url(code.token)}")

    def _history(self, history: HistoryResult, asked: int) -> str:
        if not history.built:
            line = (
                f"demo past: already there for demo enterprises #0-#{history.stop - 1:,} "
                f"(seed {history.seed})"
            )
        else:
            counts = history.counts
            line = (
                f"demo past (seed {history.seed}) for demo enterprises "
                f"#{history.start:,}-#{history.stop - 1:,}: "
                f"{counts.get('supervision.inspection', 0):,} inspections, "
                f"{counts.get('supervision.rectificationorder', 0):,} orders, "
                f"{counts.get('core.complaint', 0):,} complaints, "
                f"{counts.get('supervision.selfinspection', 0):,} self-inspections, "
                f"{counts.get('supervision.creditevent', 0):,} credit events, "
                f"{counts.get('history.historicalinspection', 0):,} imported inspections "
                f"in {history.seconds:.1f} s; scores recomputed"
                f"\nother departments' data: {counts.get('offsite_attributes', 0):,} register facts, "
                f"{counts.get('offsite_hotline_12345', 0):,} hotline complaints, "
                f"{counts.get('offsite_kitchen_cameras', 0):,} camera alerts, "
                f"{counts.get('offsite_urban_management', 0):,} penalties of another bureau "
                "(the example off-site factors wait as a candidate policy: /ranking/policies/)"
            )
        if history.seed != asked:
            line += f"\n  (--seed {asked} not used: this database's past was told with seed {history.seed})"
        return line

    def _progress(self, done: int, total: int, rate: float) -> None:
        # stderr, so that stdout stays the summary a script can read.
        self.stderr.write(f"enterprises {done:,}/{total:,} ({done / total:.0%}), {rate:,.0f} rows/s", _plain)
