from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "safecampus.notices"
    label = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from safecampus.notify import services as notify_services

        from . import services, timers  # noqa: F401  (registers the timer handler)

        # Acknowledging a notice's message (link or inbox button) acknowledges the notice.
        notify_services.on_acknowledge(services.EVENT)(
            lambda delivery: services.notice_acknowledge_delivery(delivery=delivery)
        )
