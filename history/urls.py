"""The regulators' pages for data sources, mounted at /sources/ (config/urls.py). A source's code
may not be "new" (history.sources.registry.RESERVED_CODES)."""

from django.urls import path

from history import views

app_name = "sources"

urlpatterns = [
    path("", views.source_list, name="list"),
    path("new/", views.source_new, name="new"),
    path("<slug:code>/", views.source_detail, name="detail"),
    path("<slug:code>/edit/", views.source_edit, name="edit"),
    path("<slug:code>/keys/", views.key_issue, name="key-issue"),
    path("<slug:code>/keys/<int:credential_id>/revoke/", views.key_revoke, name="key-revoke"),
]
