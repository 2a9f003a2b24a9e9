from django.urls import path

from . import calendar_views, views

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
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule_edit"),
    # The official calendar: the system administrator's (orgs.access.can_edit_calendar).
    path("calendar/", calendar_views.calendar_page, name="official-calendar"),
    path("calendar/seed/", calendar_views.calendar_seed, name="official-calendar-seed"),
    path("calendar/import/", calendar_views.calendar_upload, name="official-calendar-import"),
    path("calendar/confirm/", calendar_views.calendar_confirm, name="official-calendar-confirm"),
    path(
        "calendar/template.xlsx",
        calendar_views.calendar_template,
        name="official-calendar-template",
    ),
    path(
        "calendar/<str:day>/remove/",
        calendar_views.calendar_remove,
        name="official-calendar-remove",
    ),
]
