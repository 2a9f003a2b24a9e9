from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutinesConfig(AppConfig):
    name = "safecampus.routines"
    label = "routines"
    verbose_name = _("Routine checks")

    def ready(self) -> None:
        from . import timers  # noqa: F401  (registers the reminder and the day's close)
