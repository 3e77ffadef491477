from django.urls import path

from supervision.risk.views import ranking as views

app_name = "ranking"
urlpatterns = [
    path("", views.ranking_list, name="list"),
    path("distribution/", views.ranking_distribution, name="distribution"),
    path("enterprises/<str:uscc>/", views.ranking_detail, name="detail"),
    path("enterprises/<str:uscc>/credit-events", views.credit_event_new, name="credit-event-new"),
    path("policies/", views.policy_list, name="policies"),
    path("policies/new", views.policy_new, name="policy-new"),
    path("policies/<int:version>/", views.policy_detail, name="policy"),
    path("policies/<int:version>/adopt", views.policy_adopt, name="policy-adopt"),
    path("recompute", views.recompute, name="recompute"),
    path("runs/<int:pk>/", views.scorerun_detail, name="run"),
]
