from django.urls import path

from . import views

app_name = "notify"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_item, name="inbox-item"),
    path("sent/", views.sent, name="sent"),
    path("notifications/<int:pk>/", views.notification_detail, name="notification"),
    path("units/<int:pk>/channels/", views.channels, name="channels"),
    path("units/<int:pk>/channels/new/", views.channel_new, name="channel-new"),
    path("channels/<int:pk>/", views.channel_edit, name="channel-edit"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel-test"),
    path("preferences/", views.preferences, name="preferences"),
    path("settings/", views.settings_page, name="settings"),
]
