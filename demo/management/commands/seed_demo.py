from django.core.management.base import BaseCommand, CommandError

from core import codes
from core.errors import DomainError
from core.models import IdentityCode
from demo.enterprises import business_enterprise
from demo.logins import demo_password, login_table
from demo.seed import demo_seed


def _plain(text: str) -> str:
    return text


class Command(BaseCommand):
    help = (
        "Load demo data: N realistic Beijing enterprises (every district and scene) and one login per "
        "role and scope. Safe to run again: it creates only the missing enterprises and resets the "
        "demo logins' password."
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
            help="password for every demo login (default: a new random one, printed at the end)",
        )

    def handle(self, *args, enterprises: int, password: str | None, **options):
        password = password or demo_password()
        try:
            result = demo_seed(enterprises=enterprises, password=password, progress=self._progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"demo enterprises: {result.enterprises_demo_total:,} ({result.enterprises_created:,} created)"
        )
        self.stdout.write(
            f"demo logins: {len(result.users_created)} created, {len(result.users_updated)} reset\n"
        )
        self.stdout.write(login_table(result.logins, password))
        code = IdentityCode.objects.filter(enterprise=business_enterprise(), status="active").first()
        if code:
            self.stdout.write(f"\nscan the business's code: {codes.code_url(code.token)}")

    def _progress(self, done: int, total: int, rate: float) -> None:
        # stderr, so that stdout stays the summary a script can read.
        self.stderr.write(f"enterprises {done:,}/{total:,} ({done / total:.0%}), {rate:,.0f} rows/s", _plain)
