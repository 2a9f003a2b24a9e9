from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.compose, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/ack/", views.acknowledge, name="ack"),
    path("<int:pk>/chase/", views.chase, name="chase"),
    path("<int:pk>/files/<int:file_pk>/", views.attachment, name="attachment"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<int:pk>/edit/", views.template_edit, name="template-edit"),
]
