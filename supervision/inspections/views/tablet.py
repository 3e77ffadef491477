"""The inspector's tablet as an installable web app that works a whole day without a signal
(docs/OFFLINE.md): the app shell /tablet/, its manifest, and the service worker /sw.js.

The shell renders nothing of the day itself: tablet.js draws the tasks, the records and the sync
status from what the tablet keeps in IndexedDB (the day pack, the journals, the photos), so the
same page works from the service worker's cache when there is no connection. Its texts come from
here, translated, in the page.
"""

import hashlib
import json
from functools import cache

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core import permissions
from core.names import person_name
from supervision.inspections import services as workflow
from supervision.models import Inspection, Result

# The Workbox release scripts/vendor_workbox.sh put under static/supervision/workbox/.
WORKBOX_VERSION = "7.4.1"
WORKBOX_MODULES = ("core", "precaching", "routing", "strategies", "background-sync")

# What the service worker keeps for the day (besides the pages it caches as they are opened):
# the shell's and the inspector's pages' static files. Paths under STATIC_URL.
PRECACHE = (
    "core/app.css",
    "core/favicon.svg",
    "supervision/loop.css",
    "supervision/tablet.css",
    "supervision/tablet_store.js",
    "supervision/tablet_sync.js",
    "supervision/tablet.js",
    "supervision/inspection.js",
    "supervision/signature_pad.js",
    "supervision/signature.js",
    "supervision/scan.js",
    "supervision/route.js",
    "supervision/icons/tablet-192.png",
    "supervision/icons/tablet-512.png",
)


# The pages the service worker keeps as they are opened (network first), and their cache: the
# page takes the shell into the same cache with the day pack (tablet.js).
PAGES_PATTERN = r"^/(tablet|tasks|inspections)/"
PAGES_CACHE = "supervision-pages-v1"


def _workbox(module: str) -> str:
    return f"supervision/workbox/{WORKBOX_VERSION}/workbox-{module}.prod.js"


@cache
def _revision(path: str) -> str:
    """The file's content hash: a changed file is fetched again when the service worker updates
    (with hashed static names in production the URL changes too)."""
    found = finders.find(path)
    if not found:
        raise FileNotFoundError(path)
    with open(found, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:16]


def _texts() -> dict[str, str]:
    """Every text tablet.js shows, in the request's language."""
    return {
        "title": _("Tablet"),
        "pack": _("Day pack"),
        "take_pack": _("Take the day pack"),
        "taking_pack": _("Taking the day pack…"),
        "pack_taken": _("Taken %(when)s, for %(from)s – %(to)s. Tasks: %(tasks)s. Size: %(size)s."),
        "no_pack": _("No day pack on this tablet yet. Take it while there is a connection."),
        "pack_failed": _("The day pack could not be taken:"),
        "ready": _("Ready to work without a connection."),
        "not_ready": _("Not ready to work without a connection yet."),
        "persistent": _("This tablet keeps the stored work until it is sent."),
        "not_persistent": _(
            "The browser may clear stored work when space runs low: send it as soon as there is a connection."
        ),
        "storage_used": _("Stored on this tablet: %(used)s of %(quota)s."),
        "quota": _(
            "The tablet's storage is full: this was not kept. Everything stored before is safe. "
            "Send what is waiting, or free space on the tablet, then try again."
        ),
        "store_failed": _("This tablet could not store it:"),
        "online": _("Connected"),
        "offline": _("No connection: the work is kept on this tablet."),
        "sync": _("Sending to the server"),
        "sync_now": _("Send now"),
        "syncing": _("Sending…"),
        "waiting": _("waiting"),
        "sent": _("sent"),
        "refused": _("refused"),
        "counts": _("%(waiting)s waiting, %(sent)s sent, %(refused)s refused"),
        "last_sync": _("Last sent %(when)s."),
        "next_try": _("Next try %(when)s."),
        "sign_in": _("Sign in again to send: the session has ended. The work stays on this tablet."),
        "sign_in_link": _("Sign in"),
        "no_connection": _(
            "No connection. The work stays on this tablet and is sent when the connection is back."
        ),
        "refused_because": _("Refused by the server:"),
        "kept_until": _("Kept on this tablet until someone decides what to do with it."),
        "retry": _("Try again"),
        "reopen": _("Reopen to correct"),
        "remove": _("Remove from this tablet"),
        "confirm_remove": _(
            "Remove this work from the tablet? It was refused by the server and exists nowhere else."
        ),
        "conflict": _("Answered differently on two tablets"),
        "conflict_kept": _("Kept (the later): %(result)s by %(by)s at %(at)s"),
        "conflict_other": _("Also answered: %(result)s by %(by)s at %(at)s"),
        "tasks": _("Tasks"),
        "no_tasks": _("No tasks in the day pack."),
        "due": _("Due"),
        "late": _("late"),
        "with": _("With"),
        "open": _("Open"),
        "back": _("Back to the day"),
        "not_started": _("not started"),
        "in_progress": _("in progress on this tablet"),
        "started_elsewhere": _("started on another tablet"),
        "submitted_here": _("submitted on this tablet"),
        "entity_card": _("Entity card"),
        "uscc": _("Unified social credit code"),
        "scene": _("Scene"),
        "district": _("District"),
        "address": _("Address"),
        "legal_representative": _("Legal representative"),
        "licence_status": _("Licence status"),
        "last_self_inspection": _("Latest self-inspection"),
        "none": _("none"),
        "open_orders": _("Open rectification orders"),
        "previous_findings": _("Previous findings"),
        "overdue": _("overdue"),
        "checklist": _("Checklist"),
        "items_count": _("%(n)s items"),
        "version": _("version %(n)s"),
        "start": _("Start inspection"),
        "continue": _("Continue inspection"),
        "task_unknown": _("This task is not in the day pack on this tablet."),
        "record_unknown": _("This inspection is not on this tablet."),
        "manual_says": _("What the compliance manual says"),
        "required_action": _("Required action if not compliant"),
        "note": _("Note"),
        "add_photos": _("Add photos (up to %(n)s)"),
        "photo_kept": _("Photo kept on this tablet"),
        "too_many_photos": _("At most %(n)s photos per item."),
        "need_result": _("Choose a result: the note and photos are kept and saved with it."),
        "answered": _("%(answered)s of %(total)s answered"),
        "saved_here": _("Saved on this tablet"),
        "conclusion": _("Conclusion"),
        "inspector_note": _("Inspector's note"),
        "representative": _("Enterprise representative present"),
        "result_of_inspection": _("Result of the inspection"),
        "rectify_by": _("Rectify by (optional)"),
        "deadline_help": _("Without a date, the deadline follows from the most severe finding."),
        "signatures": _("Signatures"),
        "representative_signer": _("Enterprise representative"),
        "signed": _("Signed"),
        "not_signed": _("Not signed yet"),
        "clear": _("Clear"),
        "confirm_signature": _("Confirm signature"),
        "draw_first": _("Draw the signature first."),
        "refuses": _("The representative refuses to sign"),
        "refusal_note": _("What the representative said or did"),
        "record_refusal": _("Record the refusal"),
        "refused_to_sign": _("Refused to sign"),
        "submit": _("Submit the record"),
        "confirm_submit": _("Submit the record now? It can no longer be changed afterwards."),
        "choose_conclusion": _("Choose a conclusion."),
        "missing": _("Answer this item before submitting."),
        "unsigned": _("Every assigned inspector must sign."),
        "representative_unsigned": _("The representative signs, or their refusal is recorded."),
        "findings_need_action": _("An inspection with findings cannot pass."),
        "nothing_to_rectify": _("There is nothing to rectify."),
        "submitted_at": _("Submitted on this tablet at %(when)s."),
        "record_on_server": _("Open the record on the server"),
        "no_storage": _("This browser cannot store work on the tablet (IndexedDB is unavailable)."),
    }


@login_required
@require_GET
def tablet_app(request):
    """The app shell (inspectors only). Everything it shows comes from the tablet's own storage."""
    inspector = permissions.roles_of(request.user).inspector
    if inspector is None:
        raise Http404
    context = {
        "inspector": inspector,
        "app": {
            "user": request.user.pk,
            "inspector": inspector.pk,
            "name": person_name(request.user),
            "urls": {
                "pack": reverse("api:get_day_pack"),
                "sync": reverse("api:sync_inspection"),
                "photo": reverse("api:put_tablet_photo", args=["00000000-0000-0000-0000-000000000000"]),
                "sw": reverse("loop:service-worker"),
                "login": reverse("login"),
                "shell": reverse("loop:tablet"),
                "pages": [reverse("loop:tablet"), reverse("loop:today")],
            },
            "pages_cache": PAGES_CACHE,
            "results": [[value, str(label)] for value, label in Result.choices],
            "conclusions": [[value, str(label)] for value, label in Inspection.Conclusion.choices],
            "max_photos": workflow.MAX_PHOTOS_PER_ANSWER,
            "note_max": workflow.NOTE_MAX,
            "texts": _texts(),
        },
    }
    response = render(request, "inspections/tablet.html", context)
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
def service_worker(request):
    """/sw.js, at the root so that its scope covers the inspector's pages (/tablet/, /tasks/,
    /inspections/). Workbox is loaded from our own static files, never from a CDN."""
    config = {
        "precache": [{"url": static(path), "revision": _revision(path)} for path in PRECACHE],
        "workboxSw": static(f"supervision/workbox/{WORKBOX_VERSION}/workbox-sw.js"),
        "modules": {f"workbox-{m}": static(_workbox(m)) for m in WORKBOX_MODULES},
        "scripts": [static("supervision/tablet_store.js"), static("supervision/tablet_sync.js")],
        "shell": reverse("loop:tablet"),
        "pages": PAGES_PATTERN,
        "pagesCache": PAGES_CACHE,
        "staticCache": "supervision-static",
        "staticUrl": static(""),
    }
    context = {
        # JSON, with "<" escaped: nothing in it can close or open markup if the file is ever inlined.
        "config": json.dumps(config, sort_keys=True).replace("<", "\\u003c"),
        "version": hashlib.sha256("".join(_revision(path) for path in PRECACHE).encode()).hexdigest()[:12],
    }
    response = render(request, "inspections/sw.js", context, content_type="text/javascript")
    # The script is at the root already; the header says so to any proxy that moves it.
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request):
    """The web app manifest: the tablet app installs to the home screen and opens on /tablet/."""
    data = {
        "name": _("Supervision platform: inspector's tablet"),
        "short_name": _("Inspections"),
        "start_url": reverse("loop:tablet"),
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#1e3a8a",
        "icons": [
            {"src": static("supervision/icons/tablet-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("supervision/icons/tablet-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("supervision/icons/tablet-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response
