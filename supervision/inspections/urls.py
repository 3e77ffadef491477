from django.urls import path

from supervision.inspections import views

# The inspection loop's pages: the inspector's day and on-site record (tablet), and the orders
# that business members answer and inspectors verify. Every write goes through services/.
app_name = "loop"
urlpatterns = [
    path("tasks/", views.today, name="today"),
    path("tasks/scan", views.scan, name="scan"),
    path("tasks/route", views.today_route, name="route"),
    path("tasks/<int:pk>/start", views.task_start, name="start"),
    # The tablet app that works offline (docs/OFFLINE.md); the service worker at the root, so that
    # its scope covers /tablet/, /tasks/ and /inspections/.
    path("tablet/", views.tablet_app, name="tablet"),
    path("tablet/manifest.webmanifest", views.manifest, name="tablet-manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("inspections/<int:pk>/evaluation", views.inspection_evaluate, name="evaluate"),
    path(
        "inspections/<int:pk>/photos/<int:photo_id>/<str:variant>",
        views.inspection_photo,
        name="inspection-photo",
    ),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/rectification", views.order_rectify, name="rectify"),
    path("orders/<int:pk>/verify", views.order_verify, name="verify"),
    path("orders/<int:pk>/reinspection", views.order_reinspect, name="reinspect"),
    path("orders/<int:pk>/escalate", views.order_escalate, name="escalate"),
    path("orders/<int:pk>/photos/<int:photo_id>/<str:variant>", views.order_photo, name="order-photo"),
]
