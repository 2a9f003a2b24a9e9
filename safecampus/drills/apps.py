from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrillsConfig(AppConfig):
    name = "safecampus.drills"
    label = "drills"
    verbose_name = _("Drills")

    def ready(self) -> None:
        from . import timers  # noqa: F401  (registers the monthly behind-plan notice)
