from django.urls import path

from . import views

app_name = "routines"
urlpatterns = [
    path("", views.checklist, name="checklist"),
    path("status/", views.status, name="status"),
    path("kinds/", views.kinds, name="kinds"),
    path("units/<int:pk>/", views.unit_day, name="unit"),
    path("units/<int:pk>/chase/", views.chase, name="chase"),
    path("units/<int:pk>/<str:code>/new/", views.record_new, name="new"),
]
