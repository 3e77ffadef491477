"""The baseline's two addresses: a small template page and a 50-row django-ninja endpoint."""

from django.contrib import admin
from django.urls import path
from rows.api import api
from rows.views import page

urlpatterns = [
    path("page/", page, name="page"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
