from django.urls import path

from supervision.risk.views import policies, ranking

app_name = "ranking"
urlpatterns = [
    path("", ranking.ranking_list, name="list"),
    path("distribution/", ranking.ranking_distribution, name="distribution"),
    path("enterprises/<str:uscc>/", ranking.ranking_detail, name="detail"),
    path("enterprises/<str:uscc>/credit-events", ranking.credit_event_new, name="credit-event-new"),
    path("policies/", policies.policy_list, name="policies"),
    path("policies/new", policies.policy_new, name="policy-new"),
    path("policies/<int:version>/", policies.policy_detail, name="policy"),
    path("policies/<int:version>/adopt", policies.policy_adopt, name="policy-adopt"),
    path("policies/<int:version>/card", policies.policy_card, name="policy-card"),
    path("policies/offsite-example", policies.policy_offsite_example, name="policy-offsite-example"),
    path("recompute", policies.recompute, name="recompute"),
    path("runs/<int:pk>/", policies.scorerun_detail, name="run"),
]
