from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("sos/", views.incident_sos, name="sos"),
    path("register.xlsx", views.register_xlsx, name="register"),
    path("overview/", views.incident_overview, name="overview"),
    path("limits/", views.limits, name="limits"),
    path("categories/<int:unit_id>/", views.categories, name="categories"),
    path("cross-checks/", views.cross_checks, name="cross-checks"),
    path("<int:pk>/", views.incident_detail, name="detail"),
    path("<int:pk>/report.docx", views.incident_docx, name="docx"),
    path("<int:pk>/ack/", views.incident_ack, name="ack"),
    path("<int:pk>/written/", views.incident_written, name="written"),
    path("<int:pk>/follow-up/", views.incident_follow_up, name="follow-up"),
    path("<int:pk>/final/", views.incident_final, name="final"),
    path("<int:pk>/steps/<int:step_id>/", views.incident_step, name="step"),
    path("<int:pk>/roll-call/", views.roll_call, name="roll-call"),
    path("<int:pk>/to-hazard/", views.incident_to_hazard, name="to-hazard"),
    path("<int:pk>/roll-call/start/", views.roll_call_start, name="roll-call-start"),
    path("plans/<int:unit_id>/", views.plans, name="plans"),
    path("plans/<int:unit_id>/<str:kind>/", views.plan_edit, name="plan-edit"),
]
