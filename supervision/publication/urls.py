from django.urls import path

from supervision.publication import views

# 一公开: the public list (no sign-in), a result's objection and its decision, the regulators' queue.
app_name = "publication"
urlpatterns = [
    path("public/inspections/", views.published_list, name="list"),
    path("publication/results/<int:pk>/objection", views.objection, name="objection"),
    path("publication/results/<int:pk>/objection/decision", views.objection_decision, name="decision"),
    path("publication/objections/", views.objection_queue, name="objections"),
]
