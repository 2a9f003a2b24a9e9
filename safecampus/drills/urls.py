from django.urls import path

from . import views

app_name = "drills"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.drill_new, name="new"),
    path("plan/", views.plan_choose, name="plan"),
    path("plan/<int:pk>/", views.plan_unit, name="plan-unit"),
    path("units/<int:pk>/", views.unit_page, name="unit"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/original/", views.photo, {"original": True}, name="photo-original"),
    path("<int:pk>/", views.drill_detail, name="detail"),
    path("<int:pk>/photos/", views.photos_add, name="photos"),
    path("<int:pk>/problems/<int:problem>/hazard/", views.problem_hazard, name="problem-hazard"),
    path("<int:pk>/roll-call/start/", views.roll_call_start, name="roll-call-start"),
    path("<int:pk>/roll-call/", views.roll_call, name="roll-call"),
]
