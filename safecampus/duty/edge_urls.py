"""The duty pages of spot checks, the calendar feed and the roster's export (included by
duty/urls.py, so their names are duty:<name>)."""

from django.urls import path

from . import edge_views as views

urlpatterns = [
    path("spot/<str:token>/", views.spot_answer, name="spot-answer"),
    path("spot-checks/mine/", views.spot_mine, name="spot-mine"),
    path("spot-checks/<int:pk>/answer/", views.spot_answer_here, name="spot-answer-here"),
    path("units/<int:pk>/spot-checks/", views.spot_checks, name="spot-checks"),
    path("feed/", views.feed_page, name="feed-page"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("units/<int:pk>/roster.xlsx", views.roster_xlsx, name="roster-xlsx"),
    path("units/<int:pk>/roster/print/", views.roster_print, name="roster-print"),
]
