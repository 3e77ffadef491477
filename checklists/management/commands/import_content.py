from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from checklists.content_io import ContentError, checklist_import_csv, content_import


class Command(BaseCommand):
    help = (
        "Import manuals and checklists from YAML content files (checklists/content/FORMAT.md) as new "
        "draft versions, or one department's checklist from a CSV file (--csv). All files or none: "
        "every problem of every file is reported and nothing is written when there is one."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="YAML file(s), or one CSV file with --csv"
        )
        parser.add_argument("--publish", action="store_true", help="publish the new versions at once")
        parser.add_argument("--check", action="store_true", help="only check the files; write nothing")
        parser.add_argument("--csv", action="store_true", help="the file is one checklist as CSV")
        parser.add_argument("--scene", help="with --csv: the scene code")
        parser.add_argument("--department", help="with --csv: the department code")
        parser.add_argument("--title", help="with --csv: the checklist's title")
        parser.add_argument("--title-en", default="", help="with --csv: the checklist's English title")

    def handle(self, *args, **options):
        if options["csv"]:
            missing = [f"--{name}" for name in ("scene", "department", "title") if not options[name]]
            if missing:
                raise CommandError(_("--csv needs %(options)s") % {"options": ", ".join(missing)})
            if len(options["files"]) != 1:
                raise CommandError(_("--csv imports one file at a time"))

        created, failed = [], 0
        # One transaction for all files, so a bad file leaves the good ones unwritten too.
        with transaction.atomic():
            for file in options["files"]:
                try:
                    created.append(f"{file}: {self._import(Path(file), options)}")
                except ContentError as exc:
                    failed += 1
                    for issue in exc.issues:
                        self.stderr.write(str(issue))
                except OSError as exc:
                    failed += 1
                    self.stderr.write(f"{file}: {exc.strerror or exc}")
            if failed:
                raise CommandError(
                    _("nothing imported: %(failed)d of %(total)d files have errors")
                    % {"failed": failed, "total": len(options["files"])}
                )
            if options["check"]:
                transaction.set_rollback(True)
        if options["check"]:
            self.stdout.write(_("%(count)d files checked, no errors") % {"count": len(created)})
            return
        for line in created:
            self.stdout.write(line)

    def _import(self, path: Path, options) -> str:
        if options["csv"]:
            checklist = checklist_import_csv(
                path_or_text=path,
                name=str(path),
                scene=options["scene"],
                department=options["department"],
                title=options["title"],
                title_en=options["title_en"],
                publish=options["publish"],
            )
            return str(checklist)
        result = content_import(path_or_text=path, name=str(path), publish=options["publish"])
        return ", ".join(str(version) for version in result.versions)
