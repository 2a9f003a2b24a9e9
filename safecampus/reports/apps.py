from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "safecampus.reports"
    label = "reports"
    verbose_name = _("Daily reports")

    def ready(self) -> None:
        from . import timers  # noqa: F401  (registers the deadline handlers)
