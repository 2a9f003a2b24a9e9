from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "safecampus.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from . import recorder

        recorder.connect()
        from django.contrib.auth.signals import (
            user_logged_in,
            user_logged_out,
            user_login_failed,
        )

        from . import login_events

        user_logged_in.connect(login_events.logged_in, dispatch_uid="audit-login")
        user_logged_out.connect(login_events.logged_out, dispatch_uid="audit-logout")
        user_login_failed.connect(login_events.login_failed, dispatch_uid="audit-login-failed")
