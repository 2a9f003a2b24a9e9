"""Writes for notices: send, read, acknowledge, chase, the ack deadline, templates.

Every message goes through the notify outbox in the same transaction as the
notice row it belongs to: a rolled-back send writes nothing and sends nothing.
"""

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import audit_record
from safecampus.notify.models import Channel, Delivery, Notification, Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import Person, Unit, UnitKind
from safecampus.worker.timers import timer_schedule

from .models import (
    ATTACHMENT_EXTENSIONS,
    ATTACHMENT_MAX_BYTES,
    Notice,
    NoticeAttachment,
    NoticeKind,
    NoticeReceipt,
    NoticeTemplate,
)
from .selectors import can_edit_templates, own_units

EVENT = "notice"
EVENT_ACK_OVERDUE = "notice_ack_overdue"
ACK_TIMER = "notices.ack_deadline"
# A second tap on "chase" within this time does not message the same unit again.
CHASE_MIN_INTERVAL = dt.timedelta(minutes=1)
_URGENCY_RANK = {Urgency.ROUTINE: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}


def ack_timer_key(notice: Notice) -> str:
    return f"notice:{notice.pk}:ack"


def notice_link(notice: Notice) -> str:
    return reverse("notices:detail", args=[notice.pk])


# --- Sending ----------------------------------------------------------------------------


def recipients_of(unit: Unit, kinds: Sequence[str] = ()) -> Any:
    """The open units below `unit` (all, or only those of the chosen kinds)."""
    qs = Unit.objects.filter(access.subtree(unit.path), archived_at__isnull=True).exclude(
        pk=unit.pk
    )
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs


def attachment_errors(files: Sequence[UploadedFile]) -> list[str]:
    """Why each unacceptable file is refused (too large, or not a document or picture)."""
    errors = []
    for f in files:
        if f.size is not None and f.size > ATTACHMENT_MAX_BYTES:
            errors.append(
                _("“%(name)s” is larger than %(mb)d MB.")
                % {"name": f.name, "mb": ATTACHMENT_MAX_BYTES // (1024 * 1024)}
            )
        elif os.path.splitext(f.name or "")[1].lower() not in ATTACHMENT_EXTENSIONS:
            errors.append(_("“%(name)s”: this kind of file cannot be attached.") % {"name": f.name})
    return errors


def _clean_send(
    *,
    title: str,
    body: str,
    urgency: str,
    requires_ack: bool,
    ack_deadline: dt.datetime | None,
    kinds: Sequence[str],
    files: Sequence[UploadedFile],
) -> None:
    errors: dict[str, Any] = {}
    if not title.strip():
        errors["title"] = _("Give the notice a title.")
    if not body.strip():
        errors["body"] = _("Write the text of the notice.")
    if urgency not in Urgency.values:
        errors["urgency"] = _("Unknown urgency.")
    if ack_deadline is not None:
        if not requires_ack:
            errors["ack_deadline"] = _("A deadline needs acknowledgement to be required.")
        elif ack_deadline <= timezone.now():
            errors["ack_deadline"] = _("The deadline must be in the future.")
    if any(k not in UnitKind.values for k in kinds):
        errors["recipient_kinds"] = _("Unknown kind of unit.")
    file_errors = attachment_errors(files)
    if file_errors:
        errors["attachments"] = file_errors
    if errors:
        raise ValidationError(errors)


def _message_text(notice: Notice) -> tuple[str, str]:
    title = notice.title
    if notice.is_warning:
        title = _("[Warning] %(title)s") % {"title": notice.title}
    lines = [notice.body.strip(), "", _("From: %(unit)s") % {"unit": notice.sender_unit.name}]
    count = notice.attachments.count()
    if count:
        lines.append(_("%(n)d attachment(s): open the notice to download them.") % {"n": count})
    if notice.requires_ack:
        if notice.ack_deadline:
            deadline = timezone.localtime(notice.ack_deadline)
            lines.append(
                _("Please acknowledge by %(deadline)s.")
                % {"deadline": deadline.strftime("%Y-%m-%d %H:%M")}
            )
        else:
            lines.append(_("Please acknowledge receipt."))
    return title, "\n".join(lines)


def _notify_receipts(
    notice: Notice,
    receipts: Sequence[NoticeReceipt],
    *,
    sender: Person,
    title: str,
    body: str,
    urgency: str,
) -> None:
    """One notification per recipient unit: its office contact and head, and its robots."""
    channels: dict[int, list[Channel]] = defaultdict(list)
    for channel in Channel.objects.filter(
        unit__in=[r.unit_id for r in receipts], enabled=True
    ).order_by("pk"):
        channels[channel.unit_id].append(channel)
    link = notice_link(notice)
    for receipt in receipts:
        unit = receipt.unit
        notification_create(
            event=EVENT,
            title=title,
            body=body,
            urgency=urgency,
            requires_ack=notice.requires_ack,
            unit=unit,
            sender=sender,
            link=link,
            params={"notice": notice.pk, "receipt": receipt.pk, "unit": unit.name},
            people=[p for p in (unit.office_contact, unit.head) if p is not None],
            channels=channels[unit.pk],
        )


def notice_send(
    *,
    by: Person,
    unit: Unit,
    title: str,
    body: str,
    kind: str = NoticeKind.NOTICE,
    urgency: str = Urgency.ROUTINE,
    requires_ack: bool = False,
    ack_deadline: dt.datetime | None = None,
    recipient_kinds: Sequence[str] = (),
    attachments: Sequence[UploadedFile] = (),
) -> Notice:
    """Send a notice from `unit` to the units below it; returns the notice."""
    access.require(access.can_send_notice(by, unit))
    if ack_deadline is not None and timezone.is_naive(ack_deadline):
        # The API may give a time without an offset: the local time, as the form reads it.
        ack_deadline = timezone.make_aware(ack_deadline)
    _clean_send(
        title=title,
        body=body,
        urgency=urgency,
        requires_ack=requires_ack,
        ack_deadline=ack_deadline,
        kinds=recipient_kinds,
        files=attachments,
    )
    if kind not in NoticeKind.values:
        raise ValidationError({"kind": _("Unknown kind of notice.")})
    recipients = list(recipients_of(unit, recipient_kinds).select_related("head", "office_contact"))
    if not recipients:
        raise ValidationError({"recipient_kinds": _("No unit below yours matches this choice.")})
    stored: list[NoticeAttachment] = []
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                kind=kind,
                sender_unit=unit,
                sent_by=by,
                title=title.strip(),
                body=body.strip(),
                urgency=urgency,
                requires_ack=requires_ack,
                ack_deadline=ack_deadline if requires_ack else None,
                recipient_kinds=",".join(recipient_kinds),
            )
            for f in attachments:
                attachment = NoticeAttachment(
                    notice=notice, file=f, name=os.path.basename(f.name)[:200], size=f.size
                )
                stored.append(attachment)
                attachment.save()
            receipts = NoticeReceipt.objects.bulk_create(
                [NoticeReceipt(notice=notice, unit=u) for u in recipients]
            )
            for receipt, recipient in zip(receipts, recipients, strict=True):
                receipt.unit = recipient
            audit_record(
                action="create",
                model="notices.noticereceipt",
                object_id=notice.pk,
                object_repr=notice.title,
                changes={"units": [u.pk for u in recipients]},
            )
            title_, body_ = _message_text(notice)
            _notify_receipts(notice, receipts, sender=by, title=title_, body=body_, urgency=urgency)
            if notice.ack_deadline is not None:
                timer_schedule(
                    kind=ACK_TIMER,
                    key=ack_timer_key(notice),
                    due_at=notice.ack_deadline,
                    payload={"notice": notice.pk},
                )
    except BaseException:
        # The rows are gone with the transaction; the stored files go too.
        for attachment in stored:
            if attachment.file._committed:  # written to storage
                attachment.file.delete(save=False)
        raise
    return notice


# --- Reading and acknowledging ----------------------------------------------------------------


def _mark_read(qs: Any, person: Person | None, now: dt.datetime) -> list[int]:
    ids = list(qs.filter(read_at__isnull=True).values_list("pk", flat=True))
    if ids:
        NoticeReceipt.objects.filter(pk__in=ids, read_at__isnull=True).update(
            read_at=now, read_by=person
        )
    return ids


@transaction.atomic
def notice_read(*, by: Person, notice: Notice) -> int:
    """The person opened the notice: their units' receipts become read. Returns how many."""
    now = timezone.now()
    ids = _mark_read(notice.receipts.filter(unit__in=own_units(by)), by, now)
    if ids:
        audit_record(
            action="update",
            model="notices.noticereceipt",
            object_id=notice.pk,
            object_repr=notice.title,
            changes={"read": ids},
        )
    return len(ids)


def _acknowledge(receipt: NoticeReceipt, person: Person | None, via: str) -> bool:
    now = timezone.now()
    _mark_read(NoticeReceipt.objects.filter(pk=receipt.pk), person, now)
    done = NoticeReceipt.objects.filter(pk=receipt.pk, acked_at__isnull=True).update(
        acked_at=now, acked_by=person, acked_via=via
    )
    if done:
        audit_record(
            action="update",
            model="notices.noticereceipt",
            object_id=receipt.pk,
            object_repr=str(receipt),
            changes={"acked_at": [None, now], "acked_via": [None, via]},
        )
    receipt.refresh_from_db()
    return bool(done)


@transaction.atomic
def notice_acknowledge(*, by: Person, receipt: NoticeReceipt) -> NoticeReceipt:
    """A manager or the duty staff of the recipient unit confirms the notice (已确认)."""
    access.require(access.can_acknowledge(by, receipt.unit))
    if not receipt.notice.requires_ack:
        raise ValidationError(_("This notice does not ask for acknowledgement."))
    _acknowledge(receipt, by, "app")
    return receipt


def receipt_of_notification(notification: Notification) -> NoticeReceipt | None:
    """The receipt a "notice" notification was written for (parameters, unit and link agree)."""
    if notification.event != EVENT:
        return None
    params = notification.params or {}
    receipt = (
        NoticeReceipt.objects.select_related("notice")
        .filter(pk=params.get("receipt"), notice_id=params.get("notice"))
        .filter(unit_id=notification.unit_id)
        .first()
    )
    if receipt is None or notification.link != notice_link(receipt.notice):
        return None
    return receipt


@transaction.atomic
def notice_acknowledge_delivery(*, delivery: Delivery) -> NoticeReceipt | None:
    """Acknowledging a message of the notice (the link in it, or the inbox button).

    Meant to be called by notify.services.delivery_acknowledge for event "notice". The
    message itself is acknowledged there (its addressee read it). The unit's receipt is
    acknowledged only when the addressee may acknowledge for the unit
    (access.can_acknowledge: its managers and duty staff), as in the app: an office
    contact or head holding only "staff", or anyone in a robot's chat group (nobody
    known), records that the unit read it, not that it confirms it.
    """
    receipt = receipt_of_notification(delivery.notification)
    if receipt is None or not receipt.notice.requires_ack:
        return None
    if not access.can_acknowledge(delivery.person, receipt.unit):
        _mark_read(NoticeReceipt.objects.filter(pk=receipt.pk), delivery.person, timezone.now())
        receipt.refresh_from_db()
        return receipt
    _acknowledge(receipt, delivery.person, delivery.transport)
    return receipt


# --- Chasing and the deadline -------------------------------------------------------------


def laggards(notice: Notice) -> Any:
    """Receipts not yet read, or not yet acknowledged when that is asked for."""
    pending = Q(read_at__isnull=True)
    if notice.requires_ack:
        pending |= Q(acked_at__isnull=True)
    return notice.receipts.filter(pending)


def _at_least_urgent(urgency: str) -> str:
    return urgency if _URGENCY_RANK.get(urgency, 0) >= 1 else Urgency.URGENT


@transaction.atomic
def notice_chase(*, by: Person, notice: Notice) -> int:
    """催办: message again the units that have not read or acknowledged. Returns how many."""
    access.require(access.can_chase(by, notice.sender_unit))
    now = timezone.now()
    receipts = list(
        laggards(notice)
        .filter(Q(chased_at__isnull=True) | Q(chased_at__lte=now - CHASE_MIN_INTERVAL))
        .select_related("unit__head", "unit__office_contact")
        .order_by("pk")
    )
    if not receipts:
        return 0
    title, body = _message_text(notice)
    _notify_receipts(
        notice,
        receipts,
        sender=by,
        title=_("Reminder: %(title)s") % {"title": title},
        body=body,
        urgency=_at_least_urgent(notice.urgency),
    )
    ids = [r.pk for r in receipts]
    NoticeReceipt.objects.filter(pk__in=ids).update(chased_at=now, chase_count=F("chase_count") + 1)
    audit_record(
        action="update",
        model="notices.noticereceipt",
        object_id=notice.pk,
        object_repr=notice.title,
        changes={"chased": ids},
    )
    return len(ids)


@transaction.atomic
def notice_ack_deadline_passed(*, notice: Notice) -> int:
    """Tell the sender unit's office which units have not acknowledged; returns how many."""
    missing = list(
        notice.receipts.filter(acked_at__isnull=True)
        .select_related("unit")
        .order_by("unit__path")
        .values_list("unit__name", flat=True)
    )
    if not missing:
        return 0
    sender_unit = notice.sender_unit
    people = office_people(sender_unit)
    if notice.sent_by is not None:
        people.append(notice.sent_by)
    notification_create(
        event=EVENT_ACK_OVERDUE,
        title=_("Not acknowledged in time: %(title)s") % {"title": notice.title},
        body=_("%(n)d of %(total)d units had not acknowledged by the deadline: %(units)s")
        % {"n": len(missing), "total": notice.receipts.count(), "units": "、".join(missing)},
        urgency=Urgency.URGENT,
        unit=sender_unit,
        link=notice_link(notice),
        params={"notice": notice.pk, "count": len(missing)},
        people=people,
    )
    return len(missing)


# --- Templates ------------------------------------------------------------------------------


@transaction.atomic
def notice_template_update(
    *,
    by: Person,
    template: NoticeTemplate,
    name: str,
    kind: str,
    title: str,
    body: str,
    urgency: str,
    requires_ack: bool,
) -> NoticeTemplate:
    access.require(can_edit_templates(by))
    errors = {}
    if not name.strip():
        errors["name"] = _("Give the template a name.")
    if not title.strip():
        errors["title"] = _("Give the notice a title.")
    if not body.strip():
        errors["body"] = _("Write the text of the notice.")
    if errors:
        raise ValidationError(errors)
    template.name, template.kind = name.strip(), kind
    template.title, template.body = title.strip(), body.strip()
    template.urgency, template.requires_ack = urgency, requires_ack
    template.save()
    return template
