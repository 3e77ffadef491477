import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from checklists.content_io import CONTENT_DIR, ContentError, content_load


class Command(BaseCommand):
    help = (
        "Import and publish the shipped content files (checklists/content/*.yaml) of every scene that has "
        "no manual and no checklist yet. Scenes with content are left alone, so running it again is a no-op."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=CONTENT_DIR, help="where the *.yaml files are")

    def handle(self, *args, **options):
        paths = sorted(options["dir"].glob("*.yaml"))
        if not paths:
            self.stdout.write(_("no content files in %(dir)s") % {"dir": options["dir"]})
            return
        failed = []
        for path in paths:
            name = os.path.relpath(path)
            try:
                # Each file in its own transaction: a bad file writes nothing, the good ones still load.
                result = content_load(path_or_text=path, name=name)
            except ContentError as exc:
                failed.append(name)
                for issue in exc.issues:
                    self.stderr.write(str(issue))
                continue
            self.stdout.write(self._summary(result))
        if failed:
            raise CommandError(
                _("content files with errors, not loaded: %(files)s") % {"files": ", ".join(failed)}
            )

    def _summary(self, result) -> str:
        scene = result.scene.code
        if result.skipped:
            return _("%(scene)s: skipped, the scene has content already") % {"scene": scene}
        parts = []
        if result.manual:
            parts.append(
                _("manual v%(version)d (%(clauses)d clauses)")
                % {"version": result.manual.version, "clauses": result.clauses}
            )
        if result.checklists:
            versions = ", ".join(f"{c.department.code} v{c.version}" for c in result.checklists)
            parts.append(f"{versions} " + _("(%(items)d items)") % {"items": result.items})
        return _("%(scene)s: published %(what)s") % {"scene": scene, "what": ", ".join(parts)}
