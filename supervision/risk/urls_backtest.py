from django.urls import path

from supervision.risk.views import backtest as views

app_name = "backtest"
urlpatterns = [
    path("", views.backtest_index, name="index"),
    path("calibrate", views.backtest_calibrate, name="calibrate"),
    path("runs/<int:pk>/", views.backtest_detail, name="detail"),
]
