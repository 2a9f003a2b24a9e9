"""Planning drills, recording one held, its photos, its roll call (an incidents.RollCall at
the unit, without an incident), a problem it found turned into a hazard (once), and the
monthly notice to the units behind their plan. Every write checks orgs.access and is audited.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from safecampus.audit.services import Actor, audit_record
from safecampus.hazards import services as hazards
from safecampus.hazards.models import Hazard
from safecampus.incidents import selectors as incident_selectors
from safecampus.incidents import services as incidents
from safecampus.incidents.models import RollCall
from safecampus.lib import images
from safecampus.lib.text import clean_text
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Role, Unit

from . import selectors
from .models import (
    MAX_FLOORS,
    MAX_PEOPLE,
    MAX_PLANNED,
    MAX_PROBLEMS,
    MAX_SECONDS,
    NOTE_MAX,
    PROBLEM_MAX,
    RESULT_MAX,
    Drill,
    DrillPhoto,
    DrillPlan,
    DrillProblem,
    Kind,
)

# A phone's clock a little ahead of the server's is not "a time still to come".
CLOCK_SLACK = dt.timedelta(minutes=5)
EARLIEST_YEAR = 2000
MAX_PHOTOS = 6  # at one time, as for a hazard
# The hazard ledger's category of a problem found in each kind of drill.
HAZARD_CATEGORY = {
    Kind.FIRE: "fire",
    Kind.EARTHQUAKE: "buildings",
    Kind.INTRUDER: "gate",
    Kind.STAMPEDE: "buildings",
    Kind.FLOOD: "buildings",
    Kind.FOOD_POISONING: "food",
    Kind.GAS_LEAK: "power",
    Kind.OTHER: "other",
}


def _audit(by: Person, action: str, model: str, pk: Any, text: str, changes: dict) -> None:
    audit_record(
        action=action,
        model=model,
        object_id=pk,
        object_repr=text[:200],
        changes=changes,
        actor=Actor(id=by.pk, label=str(by)),
    )


# --- The plan ---------------------------------------------------------------------------


@transaction.atomic
def plan_set(*, by: Person, unit: Unit, year: int, counts: Mapping[str, int]) -> list[DrillPlan]:
    """The unit's plan of a year, as a whole: how many drills of each kind (a kind left out is
    none). This year, the one before (to correct it) or the next."""
    access.require(access.can_plan_drills(by, unit))
    errors: dict[str, str] = {}
    this_year = timezone.localdate().year
    if not isinstance(year, int) or not this_year - 1 <= year <= this_year + 1:
        errors["year"] = _("Plan this year, the year before or the next.")
    for kind, n in counts.items():
        if kind not in Kind.values:
            errors[str(kind)] = _("Not a kind of drill.")
        elif not isinstance(n, int) or not 0 <= n <= MAX_PLANNED:
            errors[kind] = _("From 0 to %(n)d.") % {"n": MAX_PLANNED}
    if not errors and not any(counts.values()):
        errors["plan"] = _("Plan at least one drill.")
    if unit.is_archived:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    DrillPlan.objects.filter(unit=unit, year=year).exclude(kind__in=list(counts)).delete()
    rows = []
    for kind in Kind.values:
        if kind in counts:
            row, _created = DrillPlan.objects.update_or_create(
                unit=unit,
                year=year,
                kind=kind,
                defaults={"planned": counts[kind], "updated_by": by, "updated_at": now},
            )
            rows.append(row)
    _audit(
        by,
        "drill.plan",
        "drills.drillplan",
        f"{unit.pk}:{year}",
        f"{unit.name} {year}",
        {"unit": unit.pk, "year": year, **{k: counts[k] for k in Kind.values if k in counts}},
    )
    return rows


# --- Recording a drill -----------------------------------------------------------------------


def _count(value: Any, name: str, errors: dict[str, str]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PEOPLE:
        errors[name] = _("Give a number from 0 to %(max)d.") % {"max": MAX_PEOPLE}
        return 0
    return value


def _problems(lines: Iterable[str], errors: dict[str, str]) -> list[str]:
    found = []
    for line in lines:
        text = (line or "").strip()
        if not text:
            continue
        if "\x00" in text:
            errors["problems"] = _("Null characters are not allowed.")
        elif len(text) > PROBLEM_MAX:
            errors["problems"] = _("Problem %(n)d is longer than %(max)d characters.") % {
                "n": len(found) + 1,
                "max": PROBLEM_MAX,
            }
        found.append(text)
    if len(found) > MAX_PROBLEMS:
        errors["problems"] = _("At most %(n)d problems, one a line.") % {"n": MAX_PROBLEMS}
    return found


@transaction.atomic
def drill_record(
    *,
    by: Person,
    unit: Unit,
    kind: str,
    held_at: dt.datetime,
    enrolled: int,
    evacuated: int,
    staff: int,
    evacuation_seconds: int | None = None,
    floors: int | None = None,
    roll_call_result: str = "",
    problems: Iterable[str] = (),
    note: str = "",
    photos: Sequence[images.Photo] = (),
) -> Drill:
    """A drill held at the unit: never one still to come; never more pupils evacuated than
    enrolled. Each non-empty line of `problems` is a problem found (each can then become a
    hazard: problem_to_hazard)."""
    access.require(access.can_record_drill(by, unit))
    errors: dict[str, str] = {}
    now = timezone.now()
    if kind not in Kind.values:
        errors["kind"] = _("Choose the kind of drill.")
    if held_at is None or timezone.is_naive(held_at):
        errors["held_at"] = _("Give the date and time the drill was held, with its time zone.")
    elif held_at > now + CLOCK_SLACK:
        errors["held_at"] = _("This time is still to come: record a drill once it is held.")
    elif timezone.localtime(held_at).year < EARLIEST_YEAR:
        errors["held_at"] = _("Give a date from %(year)d on.") % {"year": EARLIEST_YEAR}
    enrolled = _count(enrolled, "enrolled", errors)
    evacuated = _count(evacuated, "evacuated", errors)
    staff = _count(staff, "staff", errors)
    if "enrolled" not in errors and "evacuated" not in errors and evacuated > enrolled:
        errors["evacuated"] = _("Evacuated %(evacuated)d but only %(enrolled)d enrolled.") % {
            "evacuated": evacuated,
            "enrolled": enrolled,
        }
    if evacuation_seconds is not None and not 1 <= evacuation_seconds <= MAX_SECONDS:
        errors["evacuation_time"] = _("From 0:01 to %(max)d:00 (minutes:seconds).") % {
            "max": MAX_SECONDS // 60
        }
    if floors is not None and not 1 <= floors <= MAX_FLOORS:
        errors["floors"] = _("From 1 to %(max)d floors.") % {"max": MAX_FLOORS}
    result = clean_text(
        roll_call_result, "roll_call_result", errors, required=False, max_length=RESULT_MAX
    )
    note = clean_text(note, "note", errors, required=False, max_length=NOTE_MAX)
    found = _problems(problems, errors)
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = _("At most %(n)s photos at a time.") % {"n": MAX_PHOTOS}
    if unit.is_archived:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    drill = Drill.objects.create(
        unit=unit,
        kind=kind,
        held_at=held_at,
        day=timezone.localdate(held_at),
        enrolled=enrolled,
        evacuated=evacuated,
        staff=staff,
        evacuation_seconds=evacuation_seconds,
        floors=floors,
        roll_call_result=result,
        note=note,
        recorded_by=by,
        recorded_at=now,
    )
    DrillProblem.objects.bulk_create(
        [DrillProblem(drill=drill, order=n, text=text) for n, text in enumerate(found, start=1)]
    )
    _photos_save(photos, by=by, drill=drill)
    _audit(
        by,
        "drill.record",
        "drills.drill",
        drill.pk,
        f"{unit.name} {drill.get_kind_display()} {drill.day}",
        {
            "unit": unit.pk,
            "kind": kind,
            "held_at": held_at,
            "enrolled": enrolled,
            "evacuated": evacuated,
            "staff": staff,
            "evacuation_seconds": evacuation_seconds,
            "floors": floors,
            "problems": len(found),
            "photos": len(photos),
        },
    )
    return drill


def _photos_save(photos: Sequence[images.Photo], *, by: Person, drill: Drill) -> list[DrillPhoto]:
    """Photos already checked by lib.images (the form and the API read them), stored under
    names nobody can guess; served only by drills.views.photo, which asks access."""
    saved = []
    now = timezone.now()
    for p in photos:
        photo = DrillPhoto(
            drill=drill,
            uploaded_by=by,
            uploaded_at=now,
        )
        images.photo_store(photo, p)
        photo.save()
        saved.append(photo)
    return saved


@transaction.atomic
def drill_photos_add(
    *, by: Person, drill: Drill, photos: Sequence[images.Photo]
) -> list[DrillPhoto]:
    access.require(access.can_record_drill(by, drill.unit))
    if not photos:
        raise ValidationError({"photos": _("Choose a photo.")})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)s photos at a time.") % {"n": MAX_PHOTOS}})
    saved = _photos_save(photos, by=by, drill=drill)
    _audit(
        by,
        "drill.photos",
        "drills.drill",
        drill.pk,
        f"{drill.unit.name} {drill.day}",
        {"photos": [p.pk for p in saved]},
    )
    return saved


# --- A problem becomes a hazard --------------------------------------------------------------


@transaction.atomic
def problem_to_hazard(*, by: Person, problem: DrillProblem) -> tuple[Hazard, bool]:
    """The problem into the unit's hazard ledger, the hazard saying which drill found it; once:
    asked again (a second tap, two people at once) it answers the hazard there is. Returns the
    hazard and whether it was made now."""
    drill = problem.drill
    access.require(access.can_record_drill(by, drill.unit))
    locked = DrillProblem.objects.select_for_update().get(pk=problem.pk)
    if locked.hazard_id is not None:
        problem.hazard_id = locked.hazard_id
        return Hazard.objects.get(pk=locked.hazard_id), False
    description = _("%(problem)s — found in the drill of %(day)s (%(kind)s): %(link)s") % {
        "problem": locked.text,
        "day": drill.day.isoformat(),
        "kind": drill.get_kind_display(),
        "link": reverse("drills:detail", args=[drill.pk]),
    }
    hazard = hazards.hazard_report(
        by=by,
        unit=drill.unit,
        category=HAZARD_CATEGORY.get(drill.kind, "other"),
        description=description,
    )
    DrillProblem.objects.filter(pk=locked.pk).update(hazard=hazard)
    problem.hazard = hazard
    _audit(
        by,
        "drill.problem_to_hazard",
        "drills.drillproblem",
        locked.pk,
        locked.text,
        {"drill": drill.pk, "hazard": hazard.pk},
    )
    return hazard, True


# --- The roll call -----------------------------------------------------------------------------


@transaction.atomic
def roll_call_start(*, by: Person, drill: Drill) -> RollCall:
    """The drill's roll call, opened at its unit (once: again, the one there is). Its head
    teachers count their classes (incidents.services.roll_call_count)."""
    access.require(access.can_record_drill(by, drill.unit))
    locked = Drill.objects.select_for_update().get(pk=drill.pk)
    if locked.roll_call_id is not None:
        drill.roll_call = locked.roll_call
        return locked.roll_call
    roll = incidents.roll_call_open(by=by, unit=drill.unit)
    Drill.objects.filter(pk=drill.pk).update(roll_call=roll)
    drill.roll_call = roll
    return roll


@transaction.atomic
def roll_call_close(*, by: Person, drill: Drill) -> RollCall:
    """Close the drill's roll call; its total becomes the drill's roll-call result when none
    was written."""
    access.require(access.can_record_drill(by, drill.unit))
    if drill.roll_call is None:
        raise ValidationError(_("This drill has no roll call."))
    roll = incidents.roll_call_close(by=by, roll_call=drill.roll_call)
    if not drill.roll_call_result:
        state = incident_selectors.roll_call_state(roll)
        drill.roll_call_result = ngettext(
            "Present %(present)d, absent %(absent)d, %(classes)d class counted.",
            "Present %(present)d, absent %(absent)d, %(classes)d classes counted.",
            len(state.counts),
        ) % {"present": state.present, "absent": state.absent, "classes": len(state.counts)}
        Drill.objects.filter(pk=drill.pk).update(roll_call_result=drill.roll_call_result)
    return roll


# --- The monthly notice ------------------------------------------------------------------------


def _people(units: list[Unit]) -> dict[int, list[Person]]:
    """Who is told about a unit's drills: its office contact (else its head), its head and its
    safety officers. One query for all the units."""
    people: dict[int, dict[int, Person]] = defaultdict(dict)
    for unit in units:
        for p in [*office_people(unit), unit.head]:
            if p is not None:
                people[unit.pk].setdefault(p.pk, p)
    rows = Membership.objects.filter(
        unit__in=units, role=Role.SAFETY_OFFICER, person__is_active=True
    ).select_related("person")
    for m in rows:
        people[m.unit_id].setdefault(m.person_id, m.person)
    return {pk: list(found.values()) for pk, found in people.items()}


@transaction.atomic
def drills_behind_notify(*, day: dt.date) -> int:
    """As at the end of `day` (the worker: the last day of the month gone), each school or
    kindergarten behind its plan of the year is told in the app which drills it is short of,
    and each without a plan that it has none. Returns the units told."""
    told = 0
    for root in Unit.objects.filter(depth=1, archived_at__isnull=True):
        found = selectors.behind(root, day)
        units = [p.unit for p in [*found.behind, *found.no_plan]]
        if not units:
            continue
        heads = {
            u.pk: u
            for u in Unit.objects.filter(pk__in=[u.pk for u in units]).select_related(
                "head", "office_contact"
            )
        }
        people = _people(list(heads.values()))
        for p in found.behind:
            short = "；".join(
                f"{line.label} {line.done}/{line.due}" for line in p.lines if line.short
            )
            notification_create(
                event="drill_behind",
                title=_("Drills behind the plan of %(year)d") % {"year": day.year},
                body=_("%(unit)s, by %(day)s (held / due): %(short)s")
                % {"unit": p.unit.name, "day": day.isoformat(), "short": short},
                unit=p.unit,
                urgency=Urgency.ROUTINE,
                people=people.get(p.unit.pk, []),
                link=reverse("drills:unit", args=[p.unit.pk]),
                params={"unit": p.unit.name, "day": day.isoformat(), "short": str(p.short)},
                inbox_only=True,
            )
        for p in found.no_plan:
            notification_create(
                event="drill_no_plan",
                title=_("No drill plan for %(year)d") % {"year": day.year},
                body=_("%(unit)s has no drill plan for %(year)d: plan its drills.")
                % {"unit": p.unit.name, "year": day.year},
                unit=p.unit,
                urgency=Urgency.ROUTINE,
                people=people.get(p.unit.pk, []),
                link=reverse("drills:plan-unit", args=[p.unit.pk]) + f"?year={day.year}",
                params={"unit": p.unit.name, "year": str(day.year)},
                inbox_only=True,
            )
        told += len(units)
    return told
