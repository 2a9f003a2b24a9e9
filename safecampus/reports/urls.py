from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.today, name="today"),
    path("units/<int:pk>/zero/", views.zero, name="zero"),
    path("units/<int:pk>/report/", views.report_form, name="report"),
    path("units/<int:pk>/chase/", views.chase, name="chase"),
    path("units/<int:pk>/calendar/", views.calendar, name="calendar"),
    path("units/<int:pk>/exemptions/", views.exemptions, name="exemptions"),
    path("status/", views.status, name="status"),
    path("ranking/", views.ranking, name="ranking"),
    path("register.xlsx", views.register, name="register"),
    path("schedules/", views.schedules, name="schedules"),
]
