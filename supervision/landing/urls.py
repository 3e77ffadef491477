from django.urls import path

from supervision.landing import views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<str:token>", views.landing, name="landing"),
    path("c/<str:token>/timeline", views.landing_timeline, name="landing-timeline"),
    path("enterprises/<str:uscc>/timeline/", views.enterprise_timeline, name="enterprise-timeline"),
]
