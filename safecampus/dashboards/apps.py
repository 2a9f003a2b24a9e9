from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "safecampus.dashboards"
    label = "dashboards"
