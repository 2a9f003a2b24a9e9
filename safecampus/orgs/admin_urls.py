from django.urls import path

from . import views_admin

app_name = "admin"
urlpatterns = [
    path("policy/", views_admin.policy, name="policy"),
    path("admins/", views_admin.admins, name="admins"),
    path("accounts/", views_admin.accounts, name="accounts"),
    path("accounts/<int:pk>/password/", views_admin.account_password, name="password"),
    path("accounts/<int:pk>/toggle/", views_admin.account_toggle, name="toggle"),
]
