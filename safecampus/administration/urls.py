"""/admin/: the system and security administrators' pages (URL names admin:...)."""

from django.urls import path

from . import views

app_name = "admin"
urlpatterns = [
    path("policy/", views.policy, name="policy"),
    path("admins/", views.admins, name="admins"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/<int:pk>/password/", views.account_password, name="password"),
    path("accounts/<int:pk>/toggle/", views.account_toggle, name="toggle"),
]
