"""What happens to a hazard: reported, fixed, verified by someone else and closed (or sent
back), put under the supervision of the level above, referred to an outside authority. Each
step is a HazardEvent and an audit entry; a status changes only from the one it must be in
(a conditional update), so two people acting at once cannot both succeed."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.lib import images
from safecampus.lib.text import clean_text
from safecampus.orgs import access
from safecampus.orgs.models import Area, Person, Unit

from . import timers
from .models import (
    Category,
    EventKind,
    Hazard,
    HazardEvent,
    InspectionAnswer,
    Photo,
    PhotoStage,
    Severity,
    Status,
)

MAX_TEXT = 5000
MAX_PHOTOS = 6  # at one time, on one hazard, fix or inspection answer
# A general hazard without a deadline given: fixed within this; a major one: reported at
# once, its deadline set by whoever supervises it.
DEFAULT_DAYS = 30


def _event(hazard: Hazard, kind: str, by: Person | None, text: str = "") -> HazardEvent:
    return HazardEvent.objects.create(
        hazard=hazard, at=timezone.now(), kind=kind, person=by, text=text[:1000]
    )


def _audit(hazard: Hazard, by: Person, action: str, changes: dict[str, Any]) -> None:
    audit_record(
        action=action,
        model="hazards.hazard",
        object_id=hazard.pk,
        object_repr=str(hazard)[:200],
        changes=changes,
        actor=Actor(id=by.pk, label=str(by)),
    )


def _text(value: str, field: str, errors: dict[str, str], *, required: bool) -> str:
    return clean_text(value, field, errors, required=required, max_length=MAX_TEXT)


def _move(hazard: Hazard, from_: tuple[str, ...], **changes: Any) -> None:
    """Change the hazard's row only if its status is still one of `from_`."""
    if not Hazard.objects.filter(pk=hazard.pk, status__in=from_).update(**changes):
        raise ValidationError(
            _("This hazard is no longer %(status)s.")
            % {"status": " / ".join(str(Status(s).label) for s in from_)}
        )
    for name, value in changes.items():
        setattr(hazard, name, value)


def photos_save(
    photos: Sequence[images.Photo],
    *,
    by: Person,
    stage: str = PhotoStage.FOUND,
    hazard: Hazard | None = None,
    answer: InspectionAnswer | None = None,
) -> list[Photo]:
    """Store photos already checked by lib.images (the forms and the API read them) under
    names nobody can guess; served only by hazards.views.photo, which asks access."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)s photos at a time.") % {"n": MAX_PHOTOS}})
    saved = []
    now = timezone.now()
    for p in photos:
        name = uuid.uuid4().hex
        photo = Photo(
            hazard=hazard,
            answer=answer,
            stage=stage,
            original_type=p.original_type,
            width=p.width,
            height=p.height,
            taken_at=p.taken_at,
            uploaded_by=by,
            uploaded_at=now,
        )
        photo.image.save(f"{name}.jpg", ContentFile(p.phone), save=False)
        photo.original.save(f"{name}-original.{p.extension}", ContentFile(p.original), save=False)
        photo.save()
        saved.append(photo)
    return saved


@transaction.atomic
def hazard_photos_add(
    *, by: Person, hazard: Hazard, photos: Sequence[images.Photo], stage: str
) -> list[Photo]:
    """Photos added to a hazard: as found (whoever may report there), or after the fix (who
    may fix it), while it is open."""
    if stage == PhotoStage.FIXED:
        access.require(access.can_fix_hazard(by, hazard.unit, hazard.responsible_id))
    else:
        access.require(access.can_report_hazard(by, hazard.unit))
    if not hazard.is_open:
        raise ValidationError({"photos": _("This hazard is closed.")})
    return photos_save(photos, by=by, hazard=hazard, stage=stage)


@transaction.atomic
def hazard_report(
    *,
    by: Person,
    unit: Unit,
    category: str,
    description: str,
    area: Area | None = None,
    place: str = "",
    severity: str = Severity.GENERAL,
    deadline: dt.date | None = None,
    interim: str = "",
    responsible: Person | None = None,
    photos: Sequence[images.Photo] = (),
) -> Hazard:
    """A hazard into the ledger: from an inspection item that failed, or reported directly.
    The responsible person is the area's unless another is named."""
    access.require(access.can_report_hazard(by, unit))
    errors: dict[str, str] = {}
    if category not in Category.values:
        errors["category"] = _("Choose a category.")
    if severity not in Severity.values:
        errors["severity"] = _("Choose a severity.")
    description = _text(description, "description", errors, required=True)
    interim = _text(interim, "interim", errors, required=False)
    place = (place or "").strip()[:200]
    if area is not None and area.unit_id != unit.pk:
        errors["area"] = _("This area is not in the unit.")
    today = timezone.localdate()
    if deadline is not None and deadline < today:
        errors["deadline"] = _("The deadline is in the past.")
    if responsible is not None and not responsible.is_active:
        errors["responsible"] = _("This person's account is not active.")
    if unit.is_archived:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    hazard = Hazard.objects.create(
        unit=unit,
        area=area,
        place=place,
        category=category,
        description=description,
        severity=severity,
        responsible=responsible or (area.responsible if area else None) or unit.head,
        deadline=deadline or today + dt.timedelta(days=DEFAULT_DAYS),
        interim=interim,
        reported_by=by,
        reported_at=timezone.now(),
    )
    _event(hazard, EventKind.REPORTED, by, description[:200])
    photos_save(photos, by=by, hazard=hazard)
    timers.schedule(hazard)
    _audit(hazard, by, "create", {"unit": unit.pk, "category": category, "severity": severity})
    return hazard


@transaction.atomic
def hazard_start_fix(*, by: Person, hazard: Hazard) -> Hazard:
    access.require(access.can_fix_hazard(by, hazard.unit, hazard.responsible_id))
    _move(hazard, (Status.OPEN,), status=Status.FIXING)
    _event(hazard, EventKind.FIXING, by)
    _audit(hazard, by, "update", {"status": Status.FIXING})
    return hazard


@transaction.atomic
def hazard_submit_fix(
    *, by: Person, hazard: Hazard, note: str, photos: Sequence[images.Photo] = ()
) -> Hazard:
    """Say what was done, with after-photos; the fix then waits for someone else to verify
    it."""
    access.require(access.can_fix_hazard(by, hazard.unit, hazard.responsible_id))
    errors: dict[str, str] = {}
    note = _text(note, "note", errors, required=True)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    _move(
        hazard,
        (Status.OPEN, Status.FIXING),
        status=Status.SUBMITTED,
        fix_note=note,
        fixed_by_id=by.pk,
        fixed_at=now,
    )
    _event(hazard, EventKind.SUBMITTED, by, note)
    photos_save(photos, by=by, hazard=hazard, stage=PhotoStage.FIXED)
    _audit(hazard, by, "update", {"status": Status.SUBMITTED})
    return hazard


@transaction.atomic
def hazard_verify(*, by: Person, hazard: Hazard, accept: bool, reason: str = "") -> Hazard:
    """Close a submitted fix (销号), or send it back with the reason. Never by the one who
    fixed it; a supervised hazard only by the supervising level."""
    access.require(
        access.can_verify_hazard(
            by, hazard.unit, fixed_by_id=hazard.fixed_by_id, supervising=hazard.supervising_unit
        )
    )
    if accept:
        now = timezone.now()
        _move(
            hazard, (Status.SUBMITTED,), status=Status.CLOSED, verified_by_id=by.pk, closed_at=now
        )
        _event(hazard, EventKind.CLOSED, by)
        _audit(hazard, by, "update", {"status": Status.CLOSED})
        return hazard
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors, required=True)
    if errors:
        raise ValidationError(errors)
    _move(hazard, (Status.SUBMITTED,), status=Status.FIXING)
    _event(hazard, EventKind.SENT_BACK, by, reason)
    _audit(hazard, by, "update", {"status": Status.FIXING, "sent_back": reason[:200]})
    return hazard


@transaction.atomic
def hazard_supervise(
    *, by: Person, hazard: Hazard, supervising_unit: Unit, supervisor: Person, deadline: dt.date
) -> Hazard:
    """挂牌督办: a major hazard put under the supervision of a unit above it, with a named
    supervisor and a deadline; that level alone closes it."""
    errors: dict[str, str] = {}
    if hazard.severity != Severity.MAJOR:
        errors["severity"] = _("Only a major hazard is put under supervision.")
    if not (
        hazard.unit.path.startswith(supervising_unit.path)
        and hazard.unit.path != supervising_unit.path
    ):
        errors["supervising_unit"] = _("Choose a unit above the hazard's.")
    access.require(
        access.runs(by, supervising_unit) and access.can_supervise_hazard(by, hazard.unit)
    )
    if not supervisor.is_active:
        errors["supervisor"] = _("This person's account is not active.")
    if deadline < timezone.localdate():
        errors["deadline"] = _("The deadline is in the past.")
    if errors:
        raise ValidationError(errors)
    _move(
        hazard,
        (Status.OPEN, Status.FIXING, Status.SUBMITTED, Status.REFERRED),
        supervising_unit=supervising_unit,
        supervisor=supervisor,
        supervision_deadline=deadline,
    )
    _event(
        hazard,
        EventKind.SUPERVISED,
        by,
        f"{supervising_unit.name} · {supervisor.name} · {deadline:%Y-%m-%d}",
    )
    _audit(hazard, by, "update", {"supervising_unit": supervising_unit.pk, "deadline": deadline})
    return hazard


@transaction.atomic
def hazard_refer(*, by: Person, hazard: Hazard, authority: str) -> Hazard:
    """A hazard the school cannot fix (a road crossing, a building site next door): referred
    to the outside authority responsible, tracked until it answers."""
    access.require(access.can_refer_hazard(by, hazard.unit))
    errors: dict[str, str] = {}
    authority = _text(authority, "authority", errors, required=True)[:200]
    if errors:
        raise ValidationError(errors)
    _move(hazard, (Status.OPEN, Status.FIXING), status=Status.REFERRED, referred_to=authority)
    _event(hazard, EventKind.REFERRED, by, authority)
    _audit(hazard, by, "update", {"status": Status.REFERRED, "referred_to": authority})
    return hazard


@transaction.atomic
def hazard_referral_answer(*, by: Person, hazard: Hazard, answer: str) -> Hazard:
    """The authority answered: recorded; the fix it reports waits for verification."""
    access.require(access.can_refer_hazard(by, hazard.unit))
    errors: dict[str, str] = {}
    answer = _text(answer, "answer", errors, required=True)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    _move(
        hazard,
        (Status.REFERRED,),
        status=Status.SUBMITTED,
        referral_answer=answer,
        fix_note=answer,
        fixed_by_id=by.pk,
        fixed_at=now,
    )
    _event(hazard, EventKind.ANSWERED, by, answer)
    _audit(hazard, by, "update", {"status": Status.SUBMITTED, "answered": True})
    return hazard
