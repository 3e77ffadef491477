from django.urls import path

from supervision.notifications import views

# The inbox: every signed-in user's own notifications, and their choices.
app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read", views.mark_read, name="read"),
    path("read-all", views.mark_all_read, name="read-all"),
    path("preferences", views.preferences, name="preferences"),
]
