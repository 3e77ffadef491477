from django.urls import path

from planning import views

app_name = "planning"
urlpatterns = [
    path("plans/", views.plan_list, name="plans"),
    path("plans/new", views.plan_new, name="plan-new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/confirm", views.plan_confirm, name="plan-confirm"),
    path("draws/", views.draw_list, name="draws"),
    path("draws/new", views.draw_new, name="draw-new"),
    path("draws/<int:pk>/", views.draw_detail, name="draw"),
    path("draws/<int:pk>/confirm", views.draw_confirm, name="draw-confirm"),
    path("conflicts/", views.conflict_list, name="conflicts"),
    path("conflicts/<int:pk>/end", views.conflict_end, name="conflict-end"),
    path("burden/", views.burden, name="burden"),
]
