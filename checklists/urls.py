from django.urls import path

from checklists import views

app_name = "checklists"
urlpatterns = [
    path("scene/<slug:scene_code>/", views.scene_manual, name="scene-manual"),
    path("enterprise/<str:uscc>/", views.enterprise_manual, name="enterprise-manual"),
    path("enterprise/<str:uscc>/acknowledge", views.acknowledge, name="acknowledge"),
    path("<int:manual_id>/pdf", views.manual_pdf, name="manual-pdf"),
    path("rates/", views.rates, name="rates"),
    path("content/", views.content, name="content"),
    path("content/upload", views.upload, name="upload"),
    path("content/<str:kind>/<int:pk>/publish", views.publish, name="publish"),
]
