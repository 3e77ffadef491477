from django.urls import path

from supervision.monitor import views

app_name = "monitor"
urlpatterns = [
    path("loop/", views.loop, name="loop"),
    path("ratings/", views.ratings, name="ratings"),
    path("consistency/", views.inspector_consistency, name="consistency"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/new", views.task_new, name="task-new"),
    path("tasks/<int:pk>/cancel", views.task_cancel, name="task-cancel"),
]
