from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LevelsConfig(AppConfig):
    name = "safecampus.levels"
    label = "levels"
    verbose_name = _("Alert levels")

    def ready(self) -> None:
        from . import timers  # noqa: F401  (registers the order's fan-out)
