"""What happens to a hazard: reported, fixed, verified by someone else and closed (or sent
back), put under the supervision of the level above, referred to an outside authority. Each
step is a HazardEvent and an audit entry; a status changes only from the one it must be in
(a conditional update), so two people acting at once cannot both succeed."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.lib import images
from safecampus.lib.text import clean_text
from safecampus.orgs import access
from safecampus.orgs.models import Area, Person, Unit

from . import checklists, selectors, timers
from .models import (
    Category,
    Checklist,
    ChecklistItem,
    EventKind,
    Hazard,
    HazardEvent,
    Inspection,
    InspectionAnswer,
    InspectionRound,
    InspectionStatus,
    Photo,
    PhotoStage,
    Result,
    RoundKind,
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
        photo = Photo(
            hazard=hazard,
            answer=answer,
            stage=stage,
            uploaded_by=by,
            uploaded_at=now,
        )
        images.photo_store(photo, p)
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
    timers.schedule(hazard)
    _audit(hazard, by, "update", {"supervising_unit": supervising_unit.pk, "deadline": deadline})
    return hazard


@transaction.atomic
def hazard_deadline_change(*, by: Person, hazard: Hazard, deadline: dt.date, reason: str) -> Hazard:
    """A new deadline (延期), with the reason, on the history; the reminders follow it. For a
    supervised hazard, the supervision deadline, moved by the supervising level."""
    access.require(
        access.can_change_hazard_deadline(by, hazard.unit, supervising=hazard.supervising_unit)
    )
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors, required=True)
    if deadline < timezone.localdate():
        errors["deadline"] = _("The deadline is in the past.")
    if errors:
        raise ValidationError(errors)
    field = "supervision_deadline" if hazard.supervising_unit_id else "deadline"
    old = getattr(hazard, field)
    _move(
        hazard, (Status.OPEN, Status.FIXING, Status.SUBMITTED, Status.REFERRED), **{field: deadline}
    )
    _event(hazard, EventKind.DEADLINE, by, f"{old:%Y-%m-%d} → {deadline:%Y-%m-%d}: {reason}")
    timers.schedule(hazard)
    _audit(hazard, by, "update", {field: deadline, "reason": reason[:200]})
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


@transaction.atomic
def hazard_import(
    *,
    by: Person,
    unit: Unit,
    category: str,
    description: str,
    source: str,
    area: Area | None = None,
    place: str = "",
    severity: str = Severity.GENERAL,
    deadline: dt.date | None = None,
    interim: str = "",
    responsible: Person | None = None,
    fix_note: str = "",
    closed_on: dt.date | None = None,
    verified_by: Person | None = None,
    verifier_name: str = "",
) -> Hazard:
    """A row of an existing Excel ledger (hazards.imports) into the ledger. Unlike a report,
    its deadline may have passed; a row with a 销号日期 comes in closed on that day (no fix was
    submitted here: the median days to close leaves it out). Its history says it was imported
    and from where (`source`). Timers are set only for a deadline still ahead: a hazard
    already overdue when it comes in is shown overdue, not escalated all at once."""
    access.require(access.can_import_hazard(by, unit, closed=closed_on is not None))
    errors: dict[str, str] = {}
    if category not in Category.values:
        errors["category"] = _("Choose a category.")
    if severity not in Severity.values:
        errors["severity"] = _("Choose a severity.")
    description = _text(description, "description", errors, required=True)
    interim = _text(interim, "interim", errors, required=False)
    fix_note = _text(fix_note, "fix_note", errors, required=False)
    place = (place or "").strip()[:200]
    if area is not None and area.unit_id != unit.pk:
        errors["area"] = _("This area is not in the unit.")
    today = timezone.localdate()
    if closed_on is not None and closed_on > today:
        errors["closed_on"] = _("The closing date is in the future.")
    if responsible is not None and closed_on is None and not responsible.is_active:
        errors["responsible"] = _("This person's account is not active.")
    if unit.is_archived:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    closed_at = (
        dt.datetime.combine(closed_on, dt.time(), tzinfo=timezone.get_current_timezone())
        if closed_on is not None
        else None
    )
    hazard = Hazard.objects.create(
        unit=unit,
        area=area,
        place=place,
        category=category,
        description=description,
        severity=severity,
        responsible=responsible or (area.responsible if area else None) or unit.head,
        deadline=deadline or closed_on or today + dt.timedelta(days=DEFAULT_DAYS),
        interim=interim,
        status=Status.CLOSED if closed_at else Status.OPEN,
        fix_note=fix_note,
        verified_by=verified_by,
        closed_at=closed_at,
        # Found no later than it was closed; an open one: when it came into the ledger.
        reported_by=by,
        reported_at=closed_at or now,
    )
    text = _("Imported from %(source)s") % {"source": source}
    if closed_on is not None:
        verifier = verified_by.name if verified_by else verifier_name.strip()[:100]
        text += " · " + _("closed on %(day)s") % {"day": f"{closed_on:%Y-%m-%d}"}
        text += f" · {verifier}" if verifier else ""
    _event(hazard, EventKind.REPORTED, by, text)
    if closed_on is None and hazard.deadline >= today:
        timers.schedule(hazard)
    _audit(
        hazard,
        by,
        "create",
        {"unit": unit.pk, "category": category, "severity": severity, "imported": source[:200]},
    )
    return hazard


# --- Checklists and inspection rounds ------------------------------------------------------


def checklist_defaults_ensure() -> None:
    """The shipped checklists (version 1 of each category, no unit), created once."""
    if Checklist.objects.filter(unit=None).count() >= len(checklists.DEFAULTS):
        return
    now = timezone.now()
    for category, items in checklists.DEFAULTS.items():
        with transaction.atomic():
            checklist, created = Checklist.objects.get_or_create(
                unit=None, category=category, version=1, defaults={"created_at": now}
            )
            if created:
                ChecklistItem.objects.bulk_create(
                    ChecklistItem(checklist=checklist, order=i, text=text)
                    for i, text in enumerate(items, 1)
                )


@transaction.atomic
def checklist_edit(*, by: Person, bureau: Unit, category: str, items: Sequence[str]) -> Checklist:
    """A bureau's new version of a category's checklist. The version it replaces is kept:
    rounds launched before keep theirs."""
    access.require(access.can_edit_checklists(by, bureau))
    errors: dict[str, str] = {}
    if category not in Category.values:
        errors["category"] = _("Choose a category.")
    texts = [" ".join(t.split()) for t in items if t and t.strip()]
    if not texts:
        errors["items"] = _("Give at least one item, one to a line.")
    elif len(texts) > 100:
        errors["items"] = _("At most 100 items.")
    elif any(len(t) > 300 for t in texts):
        errors["items"] = _("An item is at most 300 characters.")
    if errors:
        raise ValidationError(errors)
    checklist_defaults_ensure()
    # one editor at a time per bureau: the versions are numbered in order
    Unit.objects.select_for_update().filter(pk=bureau.pk).first()
    latest = (
        Checklist.objects.filter(Q(unit=bureau) | Q(unit=None), category=category)
        .order_by("-version")
        .first()
    )
    Checklist.objects.filter(unit=bureau, category=category, is_current=True).update(
        is_current=False
    )
    checklist = Checklist.objects.create(
        unit=bureau,
        category=category,
        version=(latest.version if latest else 0) + 1,
        created_at=timezone.now(),
        created_by=by,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(checklist=checklist, order=i, text=t) for i, t in enumerate(texts, 1)
    )
    audit_record(
        action="create",
        model="hazards.checklist",
        object_id=checklist.pk,
        object_repr=str(checklist)[:200],
        changes={"bureau": bureau.pk, "category": category, "items": len(texts)},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return checklist


INSPECTED_KINDS = ("school", "kindergarten")


@transaction.atomic
def round_launch(
    *,
    by: Person,
    unit: Unit,
    kind: str,
    title: str,
    starts_on: dt.date,
    ends_on: dt.date,
    categories: Sequence[str],
) -> InspectionRound:
    """An inspection round for the schools under `unit`: each gets an inspection (not started)
    on the checklists current at launch; the schools' heads are told."""
    access.require(access.can_launch_inspection_round(by, unit))
    errors: dict[str, str] = {}
    if kind not in RoundKind.values:
        errors["kind"] = _("Choose a kind.")
    title = clean_text(title, "title", errors, required=True, max_length=200)
    if ends_on < starts_on:
        errors["ends_on"] = _("The round ends before it starts.")
    elif ends_on < timezone.localdate():
        errors["ends_on"] = _("The round would already be over.")
    chosen = [c for c in dict.fromkeys(categories) if c in Category.values]
    if not chosen or len(chosen) != len(set(categories)):
        errors["categories"] = _("Choose one or more categories.")
    if errors:
        raise ValidationError(errors)
    checklist_defaults_ensure()
    round_ = InspectionRound.objects.create(
        unit=unit,
        kind=kind,
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        launched_by=by,
        launched_at=timezone.now(),
    )
    round_.checklists.set(selectors.current_checklists(unit, chosen))
    schools = Unit.objects.filter(
        access.subtree(unit.path), kind__in=INSPECTED_KINDS, archived_at__isnull=True
    )
    Inspection.objects.bulk_create(
        (Inspection(round=round_, unit_id=pk) for pk in schools.values_list("pk", flat=True)),
        batch_size=2000,
    )
    audit_record(
        action="create",
        model="hazards.inspectionround",
        object_id=round_.pk,
        object_repr=title[:200],
        changes={"unit": unit.pk, "kind": kind, "categories": chosen},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return round_


def _inspection_open(inspection: Inspection) -> None:
    if inspection.status == InspectionStatus.SUBMITTED:
        raise ValidationError(_("This inspection has been submitted."))
    if inspection.round.starts_on > timezone.localdate():
        raise ValidationError(_("The round has not started yet."))


@transaction.atomic
def inspection_answer(
    *,
    by: Person,
    inspection: Inspection,
    item: ChecklistItem,
    result: str,
    note: str = "",
    area: Area | None = None,
    photos: Sequence[images.Photo] = (),
) -> InspectionAnswer:
    """One item answered (pass / fail / not applicable), saved at once: a closed browser loses
    nothing. Answered again, it is changed."""
    access.require(access.can_inspect(by, inspection.unit))
    inspection = (
        Inspection.objects.select_for_update().select_related("round").get(pk=inspection.pk)
    )
    _inspection_open(inspection)
    errors: dict[str, str] = {}
    if result not in Result.values:
        errors["result"] = _("Choose pass, fail or not applicable.")
    if not inspection.round.checklists.filter(pk=item.checklist_id).exists():
        errors["item"] = _("This item is not on the round's checklists.")
    note = clean_text(note, "note", errors, required=False, max_length=1000)
    if result == Result.FAIL and not note:
        errors["note"] = _("Say what is wrong.")
    if area is not None and area.unit_id != inspection.unit_id:
        errors["area"] = _("This area is not in the unit.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    answer, _created = InspectionAnswer.objects.update_or_create(
        inspection=inspection,
        item=item,
        defaults={
            "result": result,
            "note": note,
            "area": area,
            "answered_by": by,
            "answered_at": now,
        },
    )
    photos_save(photos, by=by, answer=answer)
    counts = inspection.answers.aggregate(
        answered=Count("pk"), failed=Count("pk", filter=Q(result=Result.FAIL))
    )
    Inspection.objects.filter(pk=inspection.pk).update(
        status=InspectionStatus.STARTED,
        inspector=by,
        started_at=inspection.started_at or now,
        **counts,
    )
    return answer


@transaction.atomic
def inspection_photos_add(
    *, by: Person, answer: InspectionAnswer, photos: Sequence[images.Photo]
) -> list[Photo]:
    """Photos added to an answered item while the inspection is open."""
    access.require(access.can_inspect(by, answer.inspection.unit))
    _inspection_open(answer.inspection)
    return photos_save(photos, by=by, answer=answer)


def inspection_items(inspection: Inspection) -> list[ChecklistItem]:
    return list(
        ChecklistItem.objects.filter(checklist__rounds=inspection.round_id)
        .select_related("checklist")
        .order_by("checklist__category", "order")
    )


@transaction.atomic
def inspection_submit(*, by: Person, inspection: Inspection) -> Inspection:
    """Every item answered: submitted, and each failure becomes a hazard in the ledger with the
    item, the area and that area's responsible person."""
    access.require(access.can_inspect(by, inspection.unit))
    inspection = (
        Inspection.objects.select_for_update().select_related("round", "unit").get(pk=inspection.pk)
    )
    _inspection_open(inspection)
    total = len(inspection_items(inspection))
    answers = list(
        inspection.answers.select_related("item__checklist", "area__responsible").order_by(
            "item__checklist__category", "item__order"
        )
    )
    if len(answers) < total:
        raise ValidationError(_("%(n)s items are not answered yet.") % {"n": total - len(answers)})
    label = inspection.round.get_kind_display()
    for answer in answers:
        if answer.result != Result.FAIL:
            continue
        hazard = hazard_report(
            by=by,
            unit=inspection.unit,
            category=answer.item.checklist.category,
            description=f"{answer.item.text}\n{answer.note}",
            area=answer.area,
            interim="",
        )
        HazardEvent.objects.filter(hazard=hazard, kind=EventKind.REPORTED).update(
            text=f"{inspection.round.title} · {label}"[:1000]
        )
        Photo.objects.filter(answer=answer).update(hazard=hazard)
        InspectionAnswer.objects.filter(pk=answer.pk).update(hazard=hazard)
    Inspection.objects.filter(pk=inspection.pk).update(
        status=InspectionStatus.SUBMITTED, submitted_at=timezone.now()
    )
    inspection.refresh_from_db()
    return inspection
