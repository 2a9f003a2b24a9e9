"""/audit/: the audit administrator's pages (the URL names stay audit:trail, audit:verify)."""

from django.urls import path

from . import audit_views as views

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("verify/", views.verify, name="verify"),
]
