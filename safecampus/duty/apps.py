from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    name = "safecampus.duty"
    label = "duty"
    verbose_name = _("Duty")

    def ready(self) -> None:
        from . import timers  # noqa: F401  (registers the reminder and spot-check handlers)
