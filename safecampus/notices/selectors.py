"""Reads for the notice pages, scoped by orgs.access and counted in SQL.

A person sees a notice sent by, or sent to, a unit they can see; of its
receipts, only those of units they can see ("B cannot see A").
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from safecampus.orgs import access
from safecampus.orgs.models import Membership, Unit

from .models import Notice, NoticeAttachment, NoticeReceipt, NoticeTemplate


def own_units(user: Any) -> QuerySet[Membership]:
    """Units the person belongs to: they read and acknowledge for these."""
    return Membership.objects.filter(person=user, unit__archived_at__isnull=True).values("unit_id")


def _visible_receipts(user: Any) -> QuerySet[NoticeReceipt]:
    qs = NoticeReceipt.objects.all()
    if not access.sees_everything(user):
        qs = qs.filter(unit__in=access.units_visible(user).values("pk"))
    return qs


def notices_visible(user: Any) -> QuerySet[Notice]:
    qs = Notice.objects.all()
    if access.sees_everything(user):
        return qs
    units = access.units_visible(user).values("pk")
    sent_to_visible = NoticeReceipt.objects.filter(notice=OuterRef("pk"), unit__in=units)
    return qs.filter(Q(sender_unit__in=units) | Exists(sent_to_visible))


def notice_or_404(user: Any, pk: Any) -> Notice:
    try:
        return notices_visible(user).select_related("sender_unit", "sent_by").get(pk=pk)
    except (Notice.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _count(qs: QuerySet[NoticeReceipt]) -> Coalesce:
    counted = (
        qs.filter(notice=OuterRef("pk")).order_by().values("notice").annotate(n=Count("pk"))
    ).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def inbox(user: Any) -> QuerySet[Notice]:
    """Notices for the inbox list: newest first; for the person's own units whether any is
    unread or unacknowledged; counts of the receipts they can see (已读 x/y, 已确认 x/y)."""
    mine = NoticeReceipt.objects.filter(notice=OuterRef("pk"), unit__in=own_units(user))
    visible = _visible_receipts(user)
    return (
        notices_visible(user)
        .select_related("sender_unit")
        .annotate(
            for_me=Exists(mine),
            me_unread=Exists(mine.filter(read_at__isnull=True)),
            me_unacked=Exists(mine.filter(acked_at__isnull=True)),
            n_total=_count(visible),
            n_read=_count(visible.filter(read_at__isnull=False)),
            n_acked=_count(visible.filter(acked_at__isnull=False)),
        )
        .order_by("-created_at", "-pk")
    )


@dataclass
class NoticeDetail:
    notice: Notice
    attachments: list[NoticeAttachment]
    receipts: list[NoticeReceipt]  # of the units the person can see, laggards first
    mine: list[NoticeReceipt]  # of the person's own units
    total: int
    read: int
    acked: int
    pending: int  # not read, or not acknowledged when that is asked for
    can_chase: bool
    show_tracking: bool


def notice_detail(user: Any, notice: Notice) -> NoticeDetail:
    visible = _visible_receipts(user).filter(notice=notice)
    pending = Q(read_at__isnull=True)
    if notice.requires_ack:
        pending |= Q(acked_at__isnull=True)
    counts = visible.aggregate(
        total=Count("pk"),
        read=Count("pk", filter=Q(read_at__isnull=False)),
        acked=Count("pk", filter=Q(acked_at__isnull=False)),
        pending=Count("pk", filter=pending),
    )
    receipts = list(
        visible.select_related("unit", "read_by", "acked_by").order_by(
            "acked_at", "read_at", "unit__path"
        )
    )
    own = set(own_units(user).values_list("unit_id", flat=True))
    mine = [r for r in receipts if r.unit_id in own]
    for receipt in mine:
        receipt.can_ack = access.can_acknowledge(user, receipt.unit)
    can_chase = access.can_chase(user, notice.sender_unit)
    return NoticeDetail(
        notice=notice,
        attachments=list(notice.attachments.all()),
        receipts=receipts,
        mine=mine,
        can_chase=can_chase,
        show_tracking=can_chase or len(receipts) > len(mine),
        **counts,
    )


def own_receipt_or_404(user: Any, notice: Notice, unit_pk: Any) -> NoticeReceipt:
    try:
        receipt = (
            notice.receipts.select_related("notice", "unit")
            .filter(unit_id=unit_pk, unit__in=own_units(user))
            .first()
        )
    except (ValueError, TypeError, OverflowError):
        raise Http404 from None
    if receipt is None:
        raise Http404
    return receipt


def attachment_or_404(user: Any, notice_pk: Any, pk: Any) -> NoticeAttachment:
    notice = notice_or_404(user, notice_pk)
    try:
        return notice.attachments.get(pk=pk)
    except (NoticeAttachment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# --- Composing --------------------------------------------------------------------------


def sender_units(user: Any) -> QuerySet[Unit]:
    """Units the person runs (a manager role there): they may send notices from these."""
    return access.units_run(user).order_by("path")


def can_edit_templates(user: Any) -> bool:
    return access.can_edit_notice_templates(user)


def templates() -> QuerySet[NoticeTemplate]:
    return NoticeTemplate.objects.all()


def template_or_none(pk: Any) -> NoticeTemplate | None:
    try:
        return NoticeTemplate.objects.filter(pk=pk).first() if pk else None
    except (ValueError, TypeError):
        return None


def template_or_404(pk: Any) -> NoticeTemplate:
    template = template_or_none(pk)
    if template is None:
        raise Http404
    return template
