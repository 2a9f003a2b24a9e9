from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("units/new/", views.unit_new, name="root-new"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/children/", views.unit_children, name="children"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit-edit"),
    path("units/<int:pk>/new/", views.unit_new, name="unit-new"),
    path("units/<int:pk>/move/", views.unit_move, name="unit-move"),
    path("units/<int:pk>/archive/", views.unit_archive, name="unit-archive"),
    path("units/<int:pk>/restore/", views.unit_restore, name="unit-restore"),
    path("units/<int:pk>/delete/", views.unit_delete, name="unit-delete"),
    path("units/<int:pk>/areas/new/", views.area_new, name="area-new"),
    path("units/<int:pk>/people/new/", views.person_new, name="person-new"),
    path("units/<int:pk>/roles/new/", views.role_grant, name="role-grant"),
    path("units/<int:pk>/leadership/new/", views.seat_new, name="seat-new"),
    path("areas/<int:pk>/edit/", views.area_edit, name="area-edit"),
    path("areas/<int:pk>/archive/", views.area_archive, name="area-archive"),
    path("roles/<int:pk>/revoke/", views.role_revoke, name="role-revoke"),
    path("seats/<int:pk>/remove/", views.seat_remove, name="seat-remove"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("import/", views.import_view, name="import"),
    path("import/template.xlsx", views.import_template, name="import-template"),
    path("export.xlsx", views.export_view, name="export"),
]
