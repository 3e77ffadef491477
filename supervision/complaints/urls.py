from django.urls import path

from supervision.complaints import views

# The complaint desk: officials read, regulators triage (supervision.complaints.services).
app_name = "complaints"
urlpatterns = [
    path("", views.complaint_list, name="list"),
    path("<int:pk>/", views.complaint_detail, name="detail"),
    path("<int:pk>/dismiss", views.complaint_dismiss, name="dismiss"),
    path("<int:pk>/merge", views.complaint_merge, name="merge"),
    path("<int:pk>/task", views.complaint_task, name="task"),
    path("<int:pk>/photo/<str:variant>", views.complaint_photo, name="photo"),
]
