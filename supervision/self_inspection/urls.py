from django.urls import path

from supervision.self_inspection import views

app_name = "supervision"
urlpatterns = [
    path("enterprise/<str:uscc>/", views.enterprise_self_inspections, name="enterprise"),
    path("<int:pk>/", views.self_inspection_detail, name="detail"),
    path("<int:pk>/photos/<int:photo_id>/<str:variant>", views.self_inspection_photo, name="photo"),
    path("issues/<int:pk>/fix", views.self_issue_fix, name="issue-fix"),
]
