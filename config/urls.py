"""Every page's address, composed from the packages' own urls.py. The paths are public (printed
codes, bookmarks, the tablets' offline copies) and do not change when code moves."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    # The front door: role home pages and the scan landing /c/<token> (supervision.landing).
    path("", include("supervision.landing.urls")),
    path("", include("core.urls")),
    path("manuals/", include("checklists.urls")),
    path("self-inspections/", include("supervision.self_inspection.urls")),
    # The inspection loop: tasks and records (tablet), orders (business and inspectors).
    path("", include("supervision.inspections.urls")),
    path("monitor/", include("supervision.monitor.urls")),
    path("ranking/", include("supervision.risk.urls")),
    path("backtest/", include("supervision.risk.urls_backtest")),
    path("planning/", include("planning.urls")),
    path("complaints/", include("supervision.complaints.urls")),
    path("notifications/", include("supervision.notifications.urls")),
    path("sources/", include("history.urls")),
    path("", include("supervision.publication.urls")),
    path("", include("supervision.inspections.verify_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
