from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from checklists.content_io import checklist_export_csv, checklist_find, content_export
from core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Write a scene's manual and checklists to stdout as a YAML content file "
        "(checklists/content/FORMAT.md), or one department's checklist as CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("scene", help="the scene code")
        parser.add_argument("--format", choices=["yaml", "csv"], default="yaml")
        parser.add_argument("--department", help="with --format csv: whose checklist")
        parser.add_argument(
            "--latest",
            action="store_true",
            help="the newest versions, drafts included, not the published ones",
        )

    def handle(self, *args, **options):
        which = "latest" if options["latest"] else "current"
        try:
            if options["format"] == "csv":
                if not options["department"]:
                    raise CommandError(_("--format csv needs --department"))
                checklist = checklist_find(
                    scene=options["scene"], department=options["department"], which=which
                )
                output = checklist_export_csv(checklist=checklist)
            else:
                if options["department"]:
                    raise CommandError(_("--department goes with --format csv"))
                output = content_export(scene=options["scene"], which=which)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(output, ending="")
