from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HazardsConfig(AppConfig):
    name = "safecampus.hazards"
    label = "hazards"
    verbose_name = _("Hazards")

    def ready(self) -> None:
        from . import timers  # noqa: F401  (registers the deadline handlers)
