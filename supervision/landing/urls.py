from django.urls import path

from supervision.landing import views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<str:token>", views.landing, name="landing"),
]
