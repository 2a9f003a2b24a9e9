from django.urls import include, path

from . import views

app_name = "duty"
urlpatterns = [
    path("", views.my_shifts, name="my-shifts"),
    path("now/", views.now_overview, name="now-overview"),
    path("gaps/", views.gaps, name="gaps"),
    path("units/<int:pk>/", views.roster, name="roster"),
    path("units/<int:pk>/plan/", views.plan, name="plan"),
    path("units/<int:pk>/now/", views.now_unit, name="now"),
    path("units/<int:pk>/chase/", views.gap_chase, name="gap-chase"),
    path("shifts/<int:pk>/", views.shift_detail, name="shift"),
    path("shifts/<int:pk>/delete/", views.shift_delete, name="shift-delete"),
    path("units/<int:pk>/shifts/new/", views.shift_new, name="shift-new"),
    path("shifts/<int:pk>/edit/", views.shift_edit, name="shift-edit"),
    path("swaps/<int:pk>/", views.swap_detail, name="swap"),
    # Spot checks, the calendar feed and the roster's export (dutyedge).
    path("", include("safecampus.duty.edge_urls")),
]
