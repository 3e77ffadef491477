from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core import views
from core.api_root import api

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("enterprises/", views.enterprise_list, name="enterprise-list"),
    path("enterprises/<str:uscc>/", views.enterprise_detail, name="enterprise-detail"),
    path("enterprises/<str:uscc>/code/rotate", views.code_rotate, name="code-rotate"),
    path("c/<str:token>", views.landing, name="landing"),
    path("manuals/", include("checklists.urls")),
    path("self-inspections/", include("supervision.urls")),
    # The inspection loop: tasks and records (tablet), orders (business and inspectors).
    path("", include("supervision.urls_loop")),
    path("monitor/", include("supervision.urls_monitor")),
    path("ranking/", include("supervision.urls_ranking")),
    path("backtest/", include("supervision.urls_backtest")),
    path("planning/", include("planning.urls")),
    path("complaints/", include("supervision.urls_complaints")),
    path("", include("supervision.urls_public")),
    path("", include("supervision.verify_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
