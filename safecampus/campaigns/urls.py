from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.campaign_new, name="new"),
    path("<int:pk>/", views.campaign, name="campaign"),
    path("<int:pk>/phases/<int:phase_id>/", views.phase_edit, name="phase"),
    path("<int:pk>/tasks/new/", views.task_new, name="task-new"),
    path("<int:pk>/tasks/<int:task_id>/", views.task, name="task"),
    path("<int:pk>/tasks/<int:task_id>/delete/", views.task_delete, name="task-delete"),
    path("<int:pk>/members/", views.members, name="members"),
    path("<int:pk>/members/<int:member_id>/remove/", views.member_remove, name="member-remove"),
    path("<int:pk>/switch/schedule/", views.switch_schedule, name="switch-schedule"),
    path("<int:pk>/switch/round/", views.switch_round, name="switch-round"),
    path("<int:pk>/switch/orders/", views.switch_orders, name="switch-orders"),
    path("<int:pk>/units/<int:unit_id>/", views.unit, name="unit"),
    path("<int:pk>/units/<int:unit_id>/tasks/<int:task_id>/done/", views.task_done, name="done"),
    path("<int:pk>/units/<int:unit_id>/summary/", views.summary, name="summary"),
    path("<int:pk>/summaries/", views.summaries, name="summaries"),
    path("<int:pk>/summaries/export/", views.summaries_export, name="export"),
]
