from django.urls import path

from . import views

app_name = "hazards"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("new/", views.hazard_new, name="new"),
    path("ledger.xlsx", views.ledger_xlsx, name="xlsx"),
    path("exports/", views.export_new, name="export-new"),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/file", views.export_file, name="export-file"),
    path("overview/", views.overview, name="overview"),
    path("import/", views.import_ledger, name="import"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/original/", views.photo, {"original": True}, name="photo-original"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/<str:category>/", views.checklist_edit, name="checklist-edit"),
    path("rounds/", views.rounds, name="rounds"),
    path("rounds/new/", views.round_new, name="round-new"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("inspections/<int:pk>/", views.inspection, name="inspection"),
    path("inspections/<int:pk>/items/<int:item>/", views.inspection_item, name="inspection-item"),
    path("inspections/<int:pk>/submit/", views.inspection_submit, name="inspection-submit"),
    path("<int:pk>/", views.hazard_detail, name="detail"),
    path("<int:pk>/<str:action>/", views.hazard_action, name="action"),
]
