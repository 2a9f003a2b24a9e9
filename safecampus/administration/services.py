"""What the administrators do that reaches beyond orgs: a password reset tells its holder.

Why here and not in orgs.services: orgs is below notify in the layers (notify needs
the tree, people and access), so orgs cannot write to the outbox. The account's own
rules (who may reset, the second administrator, the forced change, tokens ended, the
audit entry) stay in orgs.services.person_set_password; this is the one function a
reset goes through, and it writes the message to the holder in the same transaction,
as every notification goes (a reset that rolls back tells nobody).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create
from safecampus.orgs import services as orgs
from safecampus.orgs.models import Person


@transaction.atomic
def password_reset(
    *, by: Person, person: Person, password: str, cosigner: Person | None = None
) -> Person:
    """Set another account's password (orgs.services.person_set_password decides who may
    and what it does to the account), then tell the holder through their channels."""
    person = orgs.person_set_password(by=by, person=person, password=password, cosigner=cosigner)
    if by.pk != person.pk:
        _tell_password_reset(by=by, person=person, cosigner=cosigner)
    return person


def _tell_password_reset(*, by: Person, person: Person, cosigner: Person | None) -> None:
    """The holder learns of a reset at once (inbox, then their first channel), through the
    outbox in the same transaction, as every notification goes."""
    names = by.name if cosigner is None else f"{by.name}, {cosigner.name}"
    notification_create(
        event="password_reset",
        title=_("Your password was reset"),
        body=_(
            "%(names)s set a new password for your account %(username)s at %(time)s. "
            "You must choose your own at the next login. If you did not ask for this, "
            "tell the security administrator at once."
        )
        % {
            "names": names,
            "username": person.username,
            "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
        urgency=Urgency.URGENT,
        sender=by,
        people=[person],
        link="/account/password/",
        params={"username": person.username},
    )
