"""What the administrators do that reaches beyond orgs: a password reset tells its holder.

Why here and not in orgs.services: orgs is below notify in the layers (notify needs
the tree, people and access), so orgs cannot write to the outbox. The account's own
rules (who may reset, the second administrator, the forced change, tokens ended, the
audit entry) stay in orgs.services.person_set_password; this is the one function a
reset goes through, and it writes the message to the holder in the same transaction,
as every notification goes (a reset that rolls back tells nobody).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import audit_record
from safecampus.notify.models import Transport, Urgency
from safecampus.notify.services import notification_create
from safecampus.orgs import services as orgs
from safecampus.orgs.models import Person


@transaction.atomic
def password_reset(*, by: Person, person: Person, password: str) -> Person:
    """Set another account's password (orgs.services.person_set_password decides who may
    and what it does to the account), then tell the holder through their channels.
    Not an administrator's: admin_password_reset."""
    person = orgs.person_set_password(by=by, person=person, password=password)
    if by.pk != person.pk:
        _tell_password_reset(by=by, person=person)
    return person


@transaction.atomic
def admin_password_reset(*, by: Person, person: Person, cosigner: Person | None) -> list[str]:
    """Reset an administrator's password so that nobody but its holder knows the next one.

    Two administrators of two roles withdraw the password (orgs.services
    .person_password_withdraw: the old one stops working, sessions and API tokens end),
    and the holder receives a one-time, expiring link to choose a new one, on their own
    channels that need no login (e-mail, SMS). The message has no sender and no unit, so
    only its addressee reads it in the app (notify.selectors.notification_visible), and the
    audit trail records only that a link was sent and on which kinds of channel. A holder
    with neither is refused: the reset is done on the server (manage.py changepassword).

    Returns the kinds of channel the link went to."""
    person = orgs.person_password_withdraw(by=by, person=person, cosigner=cosigner)
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    path = orgs.password_reset_link_path(person)
    notification = notification_create(
        event="password_reset_link",
        title=_("Choose a new password"),
        body=_(
            "%(names)s reset the password of your account %(username)s at %(time)s; the "
            "old one no longer works. Open the link in this message within %(hours)d hours "
            "to choose your own; it works once. If you did not ask for this, tell the "
            "security administrator at once."
        )
        % {
            "names": f"{by.name}, {cosigner.name}" if cosigner else by.name,
            "username": person.username,
            "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "hours": hours,
        },
        urgency=Urgency.URGENT,
        sender=None,  # nobody else reads it: not in anyone's sent messages
        people=[person],
        link=path,
        params={"link": f"{settings.SITE_URL.rstrip('/')}{path}", "hours": hours},
    )
    kinds = sorted(
        set(
            notification.deliveries.exclude(transport=Transport.INBOX).values_list(
                "transport", flat=True
            )
        )
    )
    if not kinds:
        raise ValidationError(
            _(
                "%(name)s has no e-mail address or mobile number to receive the link. Reset "
                "this password on the server: manage.py changepassword %(username)s, then "
                "its holder changes it at the first login."
            )
            % {"name": person.name, "username": person.username}
        )
    audit_record(
        action="password_reset_link",
        model="orgs.person",
        object_id=person.pk,
        object_repr=str(person),
        changes={"cosigned_by": getattr(cosigner, "username", ""), "sent_to": kinds},
    )
    return kinds


def _tell_password_reset(*, by: Person, person: Person) -> None:
    """The holder learns of a reset at once (inbox, then their first channel), through the
    outbox in the same transaction, as every notification goes."""
    names = by.name
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
