from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdministrationConfig(AppConfig):
    """The three administrators' (三员) pages and jobs: accounts and password resets
    (system), roles and the security policy (security), the audit trail, its verification
    and the chain head sent to the audit administrators each day (audit).

    Above orgs, notify, worker and audit in the layers: who may is asked of orgs.access,
    the messages go through notify's outbox, the daily head is a worker timer. Below it,
    orgs knows nothing of notifications and audit nothing of people's roles."""

    name = "safecampus.administration"
    label = "administration"
    verbose_name = _("Administration")

    def ready(self) -> None:
        from . import audit_heads  # noqa: F401  (registers the daily head's timer)
