"""A demo district: 1 bureau, 4 township groups, ~40 schools and kindergartens.

Loaded through the same services a user goes through, so the demo is also an
end-to-end check of them, and every record is in the audit trail.

Each app's part of the demo is one function here, called in order by `demo_load`:
`demo_orgs` (the tree, people, roles, areas), `demo_notify` (SMS templates),
`demo_notices` (a warning, half acknowledged), `demo_reports` (two weeks of daily
reports), `demo_duty` (this month's duty rosters, with one gap), `demo_hazards` (a ledger with
open, overdue, supervised, referred and closed hazards), `demo_inspections` (a self-check
round in progress, photos), `demo_incidents` (three incidents:
one escalated because nobody acknowledged, one followed up, one closed), `demo_routines` (routine
checks at 城关镇中心小学 for the last school days, one of them missed; another school short
today), `demo_drills` (drill plans, drills held with a roll call, photos and a problem made a
hazard, schools behind their plan), `demo_campaigns` (the bureau's winter campaign in its
implementation phase with a level-2 order, measures half confirmed; a group's past campaign
with its summaries). An app added later adds its own `demo_<app>` and one line
in `_build`.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safecampus.audit.services import acting_as, audit_record
from safecampus.notices import services as notices
from safecampus.notices.models import NoticeReceipt, NoticeTemplate
from safecampus.notify.models import SmsTemplate
from safecampus.orgs import services
from safecampus.orgs.models import AdminRole, AreaKind, Person, Position, Role, Unit, UnitKind
from safecampus.reports import services as reports
from safecampus.reports.models import DailyReport, ReportStatus, Status

BUREAU_CODE = "330199"
BUREAU_NAME = "清河区教育局"

GROUPS = [
    ("城关", ["解放路", "人民路", "文昌路"], ["桃源", "柳湾", "石桥"]),
    ("东湖", ["湖滨路", "东升路"], ["荷塘", "渔村", "白沙", "杨家"]),
    ("西山", ["山前路"], ["枫林", "松岭", "竹溪", "黄泥", "清泉"]),
    ("南塘", ["塘南路", "新华路"], ["稻香", "李庄", "梅溪", "陈家"]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "建国伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰红梅志刚海燕晓东春生"

DEMO_LOGINS = [
    ("sys.admin", "system administrator (accounts, tree, settings)"),
    ("sec.admin", "security administrator (roles, password and lockout policy)"),
    ("audit.admin", "audit administrator (audit trail)"),
    ("bureau.admin", "bureau safety office, 清河区教育局: sees the whole district"),
    ("group.head", "head of 城关学区: sees its schools"),
    ("school.principal", "principal of 城关镇中心小学"),
    ("school.safety", "safety officer of 城关镇中心小学"),
    ("school.duty", "duty staff of 城关镇中心小学"),
    ("other.principal", "principal of 西山镇中心小学 (another group)"),
]


@dataclass
class _Ids:
    rng: random.Random
    mobile: int = 13900000000

    def next_mobile(self) -> str:
        self.mobile += self.rng.randint(1, 997)
        return str(self.mobile)

    def name(self) -> str:
        given = "".join(self.rng.sample(GIVEN, self.rng.choice([1, 2])))
        return self.rng.choice(SURNAMES) + given


def demo_password() -> str:
    return settings.SAFECAMPUS_DEMO_PASSWORD


def _login(person: Person, password: str) -> None:
    person.set_password(password)
    person.password_changed_at = timezone.now()
    person.is_active = True
    person.save()


def _admin(username: str, name: str, role: str, ids: _Ids) -> Person:
    person, _ = Person.objects.get_or_create(
        username=username,
        defaults={"name": name, "mobile": ids.next_mobile(), "admin_role": role},
    )
    return person


def demo_load() -> bool:
    """Create the demo district unless it exists; always (re)set the demo passwords.

    Returns True when the district was created now.
    """
    password = demo_password()
    with acting_as("demo"), transaction.atomic():
        created = not Unit.objects.filter(code=BUREAU_CODE).exists()
        if created:
            _build(random.Random(2026))  # noqa: S311 (made-up demo data)
        for username, _label in DEMO_LOGINS:
            _login(Person.objects.get(username=username), password)
    return created


def _build(rng: random.Random) -> None:
    officer, bureau = demo_orgs(rng)
    demo_notify()
    demo_notices(officer, bureau)
    demo_reports(officer, bureau, rng)
    demo_duty(officer, bureau)
    demo_hazards(officer, bureau)
    demo_inspections(officer, bureau)
    demo_incidents()
    demo_routines()
    demo_drills()
    demo_campaigns(officer, bureau)


def demo_orgs(rng: random.Random) -> tuple[Person, Unit]:
    """The tree: the three administrators, the bureau and its safety office, four township
    groups and their schools, each with its people, leadership group and areas.
    Returns the bureau's safety officer (who does the rest) and the bureau."""
    ids = _Ids(rng)
    system = _admin("sys.admin", "系统管理员", AdminRole.SYSTEM, ids)
    security = _admin("sec.admin", "安全管理员", AdminRole.SECURITY, ids)
    _admin("audit.admin", "审计管理员", AdminRole.AUDIT, ids)
    _login(system, demo_password())

    bureau = services.unit_create(
        by=system,
        parent=None,
        code=BUREAU_CODE,
        name=BUREAU_NAME,
        kind=UnitKind.BUREAU,
        address="清河区府前街1号",
        phone="0571-86001100",
    )
    officer = services.person_create(
        by=system,
        unit=bureau,
        name="周立新",
        mobile=ids.next_mobile(),
        username="bureau.admin",
    )
    services.membership_grant(by=security, person=officer, unit=bureau, role=Role.SAFETY_OFFICE)
    director = services.person_create(
        by=officer, unit=bureau, name="赵文华", mobile=ids.next_mobile(), roles=[Role.BUREAU_LEADER]
    )
    services.unit_update(by=officer, unit=bureau, head=director, office_contact=officer)
    services.seat_set(by=officer, unit=bureau, person=director, position=Position.LEADER)
    services.seat_set(by=officer, unit=bureau, person=officer, position=Position.DEPUTY)
    services.area_create(
        by=officer, unit=bureau, name="机关办公楼", kind=AreaKind.OFFICE, responsible=officer
    )

    groups = []
    for g, (town, streets, villages) in enumerate(GROUPS, start=1):
        group = services.unit_create(
            by=officer,
            parent=bureau,
            code=f"{BUREAU_CODE}-{g:02d}",
            name=f"{town}学区",
            kind=UnitKind.GROUP,
            address=f"{town}镇{streets[0]}8号",
            phone=f"0571-8600{g:02d}00",
        )
        head = services.person_create(
            by=officer,
            unit=group,
            name=ids.name(),
            mobile=ids.next_mobile(),
            roles=[Role.GROUP_HEAD],
            username="group.head" if g == 1 else None,
        )
        services.unit_update(by=officer, unit=group, head=head, office_contact=head)
        services.seat_set(by=officer, unit=group, person=head, position=Position.LEADER)
        groups.append(group)
        schools = _school_names(town, streets, villages)
        for s, (name, kind, boarding) in enumerate(schools, start=1):
            _build_school(officer, group, g, s, name, kind, boarding, ids, rng)
    return officer, bureau


def demo_notify() -> None:
    """A demo SMS template for every event (real ones come from the provider's console)."""
    SmsTemplate.objects.get_or_create(
        event="*", defaults={"template_id": "SMS_DEMO_0001", "params": "unit,title"}
    )


def demo_notices(officer: Person, bureau: Unit) -> None:
    """A cold-wave warning from the bureau, half acknowledged, so the pages show something."""
    template = NoticeTemplate.objects.filter(name__contains="寒潮").first()
    title = template.title if template else "关于做好寒潮天气防范工作的预警通知"
    body = template.body if template else "各学校：近期将有寒潮天气，请做好防寒防冻工作。"
    notice = notices.notice_send(
        by=officer,
        unit=bureau,
        title=title,
        body=body,
        kind="warning",
        urgency="urgent",
        requires_ack=True,
        ack_deadline=timezone.now() + timedelta(days=1),
        recipient_kinds=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN],
    )
    for i, receipt in enumerate(
        NoticeReceipt.objects.filter(notice=notice).select_related("unit").order_by("unit__path")
    ):
        principal = receipt.unit.head
        if i % 2 == 0 and principal is not None:
            notices.notice_read(by=principal, notice=notice)
            notices.notice_acknowledge(by=principal, receipt=receipt)


def _school_names(
    town: str, streets: list[str], villages: list[str]
) -> list[tuple[str, str, bool]]:
    names = [
        (f"{town}镇中心小学", UnitKind.SCHOOL, False),
        (f"{town}镇第一中学", UnitKind.SCHOOL, True),
        (f"{town}镇中心幼儿园", UnitKind.KINDERGARTEN, False),
    ]
    names += [(f"{town}镇{street}小学", UnitKind.SCHOOL, False) for street in streets[1:]]
    names += [(f"{village}村小学", UnitKind.SCHOOL, False) for village in villages]
    names += [(f"{villages[0]}幼儿园", UnitKind.KINDERGARTEN, False)]
    if len(names) < 10:
        names += [(f"{town}镇第二中学", UnitKind.SCHOOL, True)]
    return names


def _build_school(
    officer: Person,
    group: Unit,
    g: int,
    s: int,
    name: str,
    kind: str,
    boarding: bool,
    ids: _Ids,
    rng: random.Random,
) -> None:
    code = f"33019901{g:02d}{s:02d}"
    school = services.unit_create(
        by=officer,
        parent=group,
        code=code,
        name=name,
        kind=kind,
        address=f"{name[:2]}镇{rng.randint(1, 200)}号",
        phone=f"0571-86{g:02d}{s:02d}{rng.randint(10, 99)}",
    )
    demo = {(1, 1): "school", (3, 1): "other"}.get((g, s))
    head_title = Role.PRINCIPAL

    def person(role: str, username: str | None = None) -> Person:
        return services.person_create(
            by=officer,
            unit=school,
            name=ids.name(),
            mobile=ids.next_mobile(),
            roles=[role],
            username=username,
        )

    principal = person(head_title, f"{demo}.principal" if demo else None)
    deputy = person(Role.STAFF)
    safety = person(Role.SAFETY_OFFICER, "school.safety" if demo == "school" else None)
    duty = person(Role.DUTY_STAFF, "school.duty" if demo == "school" else None)
    guard = person(Role.GATE_GUARD)
    teacher = person(Role.HEAD_TEACHER)
    services.unit_update(by=officer, unit=school, head=principal, office_contact=safety)
    services.seat_set(by=officer, unit=school, person=principal, position=Position.LEADER)
    services.seat_set(by=officer, unit=school, person=deputy, position=Position.DEPUTY)
    for member in (safety, duty, teacher):
        services.seat_set(by=officer, unit=school, person=member, position=Position.MEMBER)

    areas = [
        ("教学楼", AreaKind.BUILDING, teacher),
        ("食堂", AreaKind.CANTEEN, deputy),
        ("校门", AreaKind.GATE, guard),
        ("操场", AreaKind.SPORTS, teacher),
    ]
    if kind == UnitKind.SCHOOL:
        areas.append(("实验室", AreaKind.LAB, safety))
    if boarding:
        areas.append(("学生宿舍", AreaKind.DORMITORY, duty))
    # Some schools have not yet named everyone: the tree flags those areas.
    unassigned = rng.random() < 0.25 or demo == "school"
    for i, (area_name, area_kind, responsible) in enumerate(areas):
        services.area_create(
            by=officer,
            unit=school,
            name=area_name,
            kind=area_kind,
            responsible=None if unassigned and i == len(areas) - 1 else responsible,
        )


def demo_reports(officer: Person, bureau: Unit, rng: random.Random) -> None:
    """A daily-report schedule running for two weeks: history with a few late and missing
    reports (written as they would have been received), and today half reported."""
    today = timezone.localdate()
    start = today - timedelta(days=13)
    schedule = reports.schedule_create(
        by=officer, root=bureau, name="冬季安全日报", starts_on=start
    )
    happenings = [
        ("一名学生课间在操场摔倒擦伤", "校医现场处理，已通知家长"),
        ("食堂一台消毒柜故障", "已停用并报修，改用备用消毒柜"),
        ("校门外早高峰车辆拥堵", "增派两名教师协助疏导，已联系交警"),
    ]
    for offset in range(14):
        day = start + timedelta(days=offset)
        reports.day_open(schedule=schedule, day=day)
        if day == today:
            break
        for row in ReportStatus.objects.filter(schedule=schedule, date=day).select_related(
            "unit__head"
        ):
            roll = rng.random()
            if roll < 0.04 or row.unit.head is None:
                ReportStatus.objects.filter(pk=row.pk).update(status=Status.MISSING)
                continue
            late = roll > 0.93
            minutes = rng.randint(5, 150)
            at = (
                row.due_at + timedelta(minutes=minutes)
                if late
                else (row.due_at - timedelta(minutes=minutes))
            )
            zero = rng.random() < 0.92
            items = (
                []
                if zero
                else [
                    dict(
                        zip(("what", "measures"), rng.choice(happenings), strict=True),
                        incident_id=None,
                        hazard_id=None,
                    )
                ]
            )
            receipt = audit_record(
                action="report",
                model="reports.dailyreport",
                object_id=f"{row.unit_id}:{day}:v1",
                object_repr=row.unit.name,
                changes={"zero": zero, "items": items, "demo": True},
            )
            report = DailyReport.objects.create(
                unit=row.unit,
                date=day,
                schedule=schedule,
                zero=zero,
                items=items,
                submitted_by=row.unit.head,
                submitted_at=at,
                due_at=row.due_at,
                late_seconds=minutes * 60 if late else 0,
                audit_seq=receipt.seq,
                audit_hash=receipt.hash,
            )
            ReportStatus.objects.filter(pk=row.pk).update(
                status=Status.LATE if late else Status.ON_TIME, submitted_at=at, report=report
            )
        reports.rollup_recompute(day=day, root=bureau)
    # Today: every other school has sent its zero report already, through the service.
    rows = (
        ReportStatus.objects.filter(schedule=schedule, date=today, level="school")
        .select_related("unit__head")
        .order_by("path")
    )
    for i, row in enumerate(rows):
        if i % 2 == 0 and row.unit.head is not None:
            reports.report_submit(by=row.unit.head, unit=row.unit, day=today, zero=True)


def demo_duty(officer: Person, bureau: Unit) -> None:
    """This month's (and next month's) 24-hour duty in every unit (bureau, groups, schools): a day shift
    08:00–18:00 and a night shift 18:00–08:00, the leader on duty taken in turn from the
    unit's managers, the duty staff from its other people. One gap to look at: tomorrow's
    night shift at 西山镇中心小学 was never staffed; one spot check nobody answered; and one
    shift nobody took over (every other past shift handed over and taken over), at 城关镇中心小学,
    whose recent shifts have a few log entries."""
    from safecampus.duty import services as duty
    from safecampus.duty.models import DayKind, LogKind, Shift
    from safecampus.duty.selectors import TAKE_OVER_WITHIN
    from safecampus.duty.spotchecks import spot_check_demo_missed
    from safecampus.orgs import access
    from safecampus.orgs.models import MANAGER_ROLES, Membership

    month = timezone.localdate().replace(day=1)
    since = timezone.make_aware(datetime.combine(month, time(0))) - timedelta(minutes=1)
    week = [k for k in DayKind.values if k != DayKind.HOLIDAY]
    units = Unit.objects.filter(
        access.subtree(bureau.path), kind__in=duty.DUTY_KINDS, archived_at__isnull=True
    )
    for unit in units.order_by("path"):
        roles: dict[int, set[str]] = {}
        for person_id, role in Membership.objects.filter(unit=unit).values_list(
            "person_id", "role"
        ):
            roles.setdefault(person_id, set()).add(role)
        people = list(duty.unit_people(unit))
        leaders = [p for p in people if roles.get(p.pk, set()) & MANAGER_ROLES] or people
        staff = [p for p in people if p not in leaders]
        if not leaders:
            continue
        duty.duty_settings_update(
            by=officer, unit=unit, duty_phone=unit.phone, remind_minutes=30, spot_check_minutes=5
        )
        day = duty.shift_template_create(
            by=officer, unit=unit, name="白班", start=time(8), end=time(18)
        )
        night = duty.shift_template_create(
            by=officer, unit=unit, name="夜班", start=time(18), end=time(8), order=1
        )
        for i, kind in enumerate(week):
            for template, n in ((day, i), (night, i + 1)):
                leader = leaders[n % len(leaders)]
                on = [staff[(n + (template == night)) % len(staff)]] if staff else []
                duty.pattern_slot_set(
                    by=officer, template=template, day_kind=kind, leader=leader, staff=on
                )
        # This month and the next: the 7 days ahead never run off the roster's end.
        duty.roster_plan(unit=unit, month=month, by=officer, since=since)
        duty.roster_plan(unit=unit, month=month + timedelta(days=32), by=officer)
    # The one gap: tomorrow night at another group's school (today's when the month ends).
    gap_unit = Unit.objects.filter(name="西山镇中心小学").first()
    tomorrow = timezone.localdate() + timedelta(days=1)
    night_shift = (
        Shift.objects.filter(unit=gap_unit, name="夜班", day__in=[tomorrow, timezone.localdate()])
        .order_by("-day")
        .first()
    )
    if night_shift is not None and night_shift.starts_at > timezone.now():
        duty.shift_delete(by=officer, shift=night_shift)
    duty.gaps_rescan()
    # The one missed spot check (查岗): two hours ago the bureau's safety office checked the
    # demo logins' school, and nobody on duty answered (its principal sees it as missed).
    checked = units.filter(name="城关镇中心小学").first()
    if checked is not None:
        spot_check_demo_missed(by=officer, unit=checked, at=timezone.now() - timedelta(hours=2))
    # The duty kept so far: every past shift handed over and taken over but one, the demo
    # school's last shift that ended over an hour ago — nobody took it over, and its roster
    # flags it — and a few log entries (patrols, a call) on the school's recent shifts.
    now = timezone.now()
    recent = (
        list(Shift.objects.filter(unit=checked, starts_at__lte=now).order_by("-starts_at")[:3])
        if checked is not None
        else []
    )
    left_open = next((s for s in recent if s.ends_at < now - TAKE_OVER_WITHIN), None)
    log = []
    for shift in recent:
        members = list(shift.members.select_related("person").order_by("-role"))  # staff first
        night = shift.name == "夜班"
        entries = [
            (
                timedelta(minutes=30),
                LogKind.PATROL,
                "接班后巡查校门、教学楼、食堂和学生宿舍，正常。",
            ),
            (
                timedelta(hours=5 if night else 4),
                LogKind.PATROL,
                "夜间巡查围墙、消防通道、配电房和宿舍楼道，无异常。"
                if night
                else "午间巡查校园及周边，学生午休秩序正常。",
            ),
        ]
        if shift == left_open:
            entries.append(
                (timedelta(hours=2), LogKind.CALL, "家长来电询问学生接送时间，已答复并告知班主任。")
            )
        log += [
            (shift, shift.starts_at + offset, kind, text, members[0].person)
            for offset, kind, text in entries
            if members and shift.starts_at + offset <= min(now, shift.ends_at)
        ]
    duty.shifts_history_demo(
        units=units,
        now=now,
        note="值班期间校园安全，无遗留事项。",
        left_open=left_open,
        log=log,
    )


def demo_incidents() -> None:
    """Three incidents through the services: a kitchen fire at 城关镇中心小学 half an hour
    ago that nobody acknowledged within ten minutes (the worker called the next on the
    chain); a bullying case at 西山镇中心小学 yesterday, acknowledged, written up and followed
    up; a closed one last week with its final report. Times are moved back as they would
    have been (the services stamp "now")."""
    from safecampus.incidents import services as incidents
    from safecampus.incidents.models import (
        Call,
        Incident,
        IncidentReport,
        Kind,
        Stage,
        TimelineEntry,
    )

    def back(incident: Incident, delta: timedelta) -> None:
        """Move an incident's times back by `delta`, as if reported then."""
        from django.db.models import F

        Incident.objects.filter(pk=incident.pk).update(
            occurred_at=F("occurred_at") - delta,
            reported_at=F("reported_at") - delta,
            written_at=F("written_at") - delta,
            closed_at=F("closed_at") - delta,
        )
        TimelineEntry.objects.filter(incident=incident).update(at=F("at") - delta)
        IncidentReport.objects.filter(incident=incident).update(
            submitted_at=F("submitted_at") - delta
        )
        Stage.objects.filter(incident=incident).update(
            due_at=F("due_at") - delta, acknowledged_at=F("acknowledged_at") - delta
        )
        Call.objects.filter(stage__incident=incident).update(
            called_at=F("called_at") - delta, acknowledged_at=F("acknowledged_at") - delta
        )

    duty = Person.objects.get(username="school.duty")
    principal = Person.objects.get(username="school.principal")
    school = Unit.objects.get(name="城关镇中心小学")
    fire = incidents.incident_report(
        by=duty,
        unit=school,
        kind=Kind.FIRE,
        summary="食堂后厨油锅起火，已用灭火器扑灭，学生已疏散到操场。",
        place="食堂后厨",
        injured=0,
        emergency_called=True,
    )
    back(fire, timedelta(minutes=10, seconds=40))
    unit_stage = fire.stages.get(level="unit")
    incidents.stage_limit_passed(stage_id=unit_stage.pk, tier=unit_stage.tier)

    other = Unit.objects.get(name="西山镇中心小学")
    other_principal = Person.objects.get(username="other.principal")
    bullying = incidents.incident_report(
        by=other_principal,
        unit=other,
        kind=Kind.BULLYING,
        summary="课间两名四年级学生发生推搡，一名学生膝盖擦伤。",
        place="教学楼二楼走廊",
        injured=1,
    )
    incidents.incident_acknowledge_mine(by=other_principal, incident=bullying)
    incidents.incident_write(
        by=other_principal,
        incident=bullying,
        grade="4",
        category="social",
        source="班主任报告",
        scope="四年级二班",
        affected="学生甲膝盖擦伤，已由校医处理",
        trend="已平息",
        measures="通知双方家长到校，心理老师介入谈话",
    )
    incidents.incident_follow_up(
        by=other_principal, incident=bullying, changes="双方家长已到校，达成和解。"
    )
    back(bullying, timedelta(days=1))

    closed = incidents.incident_report(
        by=principal,
        unit=school,
        kind=Kind.INJURY,
        summary="体育课跳远时一名学生扭伤脚踝。",
        place="操场",
        injured=1,
    )
    incidents.incident_acknowledge_mine(by=principal, incident=closed)
    incidents.incident_write(
        by=principal,
        incident=closed,
        grade="4",
        category="accident",
        source="体育老师报告",
        scope="五年级一班体育课",
        affected="学生一名，脚踝扭伤",
        trend="已送医，无大碍",
        measures="校医冰敷后由家长陪同就医",
    )
    incidents.incident_close(
        by=principal,
        incident=closed,
        cause="沙坑边缘不平",
        handling="校医处理，家长陪同就医",
        losses="无财产损失",
        lessons="器材和场地课前检查不到位",
        corrective="体育课前检查沙坑，补平边缘",
    )
    back(closed, timedelta(days=6))


def demo_hazards(officer: Person, bureau: Unit) -> None:
    """城关镇中心小学's ledger, through the services: an open hazard, one overdue, a major
    one under the bureau's supervision, one referred to the traffic police, and one fixed by
    the safety officer and closed by the principal; 西山镇中心小学 has one being fixed."""
    from django.db.models import F

    from safecampus.hazards import services as hazards
    from safecampus.hazards import timers as hazard_timers
    from safecampus.hazards.models import Hazard, HazardEvent
    from safecampus.orgs.models import Area

    school = Unit.objects.get(name="城关镇中心小学")
    safety = Person.objects.get(username="school.safety")
    principal = Person.objects.get(username="school.principal")
    today = timezone.localdate()

    def area(name: str) -> Area | None:
        return Area.objects.filter(unit=school, name=name).first()

    def back(hazard: Hazard, days: int) -> None:
        delta = timedelta(days=days)
        Hazard.objects.filter(pk=hazard.pk).update(
            reported_at=F("reported_at") - delta, deadline=F("deadline") - delta
        )
        HazardEvent.objects.filter(hazard=hazard).update(at=F("at") - delta)
        hazard_timers.schedule(Hazard.objects.get(pk=hazard.pk))  # the deadline moved too

    hazards.hazard_report(
        by=safety,
        unit=school,
        category="fire",
        description="教学楼三楼东侧 2 具灭火器压力不足（指针在红区）。",
        area=area("教学楼"),
        deadline=today + timedelta(days=7),
        interim="已从二楼调配灭火器临时补位。",
    )
    overdue = hazards.hazard_report(
        by=safety,
        unit=school,
        category="food",
        description="食堂留样柜温度计损坏，无法确认冷藏温度。",
        area=area("食堂"),
        deadline=today + timedelta(days=3),
    )
    back(overdue, 10)
    major = hazards.hazard_report(
        by=safety,
        unit=school,
        category="buildings",
        description="操场北侧围墙出现长约 3 米的裂缝，墙体外倾。",
        area=area("操场"),
        severity="major",
        deadline=today + timedelta(days=20),
        interim="已设置警戒线，禁止学生靠近。",
    )
    hazards.hazard_supervise(
        by=officer,
        hazard=major,
        supervising_unit=bureau,
        supervisor=officer,
        deadline=today + timedelta(days=30),
    )
    referred = hazards.hazard_report(
        by=safety,
        unit=school,
        category="surroundings",
        description="校门前道路无人行横道和减速带，上下学时段车速较快。",
        area=area("校门"),
    )
    hazards.hazard_refer(by=principal, hazard=referred, authority="区公安交警大队")
    closed = hazards.hazard_report(
        by=principal,
        unit=school,
        category="power",
        description="实验室一处插座面板破损，线芯外露。",
        area=area("实验室"),
    )
    hazards.hazard_submit_fix(by=safety, hazard=closed, note="已更换插座面板，并检查同一回路。")
    hazards.hazard_verify(by=principal, hazard=closed, accept=True)
    back(closed, 5)
    other = Unit.objects.get(name="西山镇中心小学")
    fixing = hazards.hazard_report(
        by=Person.objects.get(username="other.principal"),
        unit=other,
        category="dormitory",
        description="学生宿舍二楼安全出口指示灯不亮。",
    )
    hazards.hazard_start_fix(by=Person.objects.get(username="other.principal"), hazard=fixing)


def _demo_photo(seed: int, *, fixed: bool = False) -> Any:
    """A drawn stand-in for a phone photo (a wall, a red extinguisher, a crack or a new one),
    read through lib.images as an upload would be."""
    import io

    from PIL import Image, ImageDraw

    from safecampus.lib import images

    image = Image.new("RGB", (1600, 1200), (214, 208, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 900, 1600, 1200), fill=(150, 140, 128))  # the floor
    draw.rounded_rectangle((700, 400, 900, 950), radius=40, fill=(200, 30, 30))
    draw.rectangle((760, 330, 840, 400), fill=(40, 40, 40))
    if not fixed:
        draw.line(
            [(300 + seed * 10, 0), (420, 300), (360, 600), (480, 900)], fill=(60, 50, 40), width=9
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    out.seek(0)
    return images.photo_read(out, name="demo.jpg")


def demo_inspections(officer: Person, bureau: Unit) -> None:
    """The bureau's winter self-check round, launched five days ago: 西山镇中心小学 has
    submitted (its two failures are in the ledger), 城关镇中心小学 is half way through (one
    failure with a photo), the other schools have not started. Photos on two hazards."""
    from django.db.models import F

    from safecampus.hazards import services as hazards
    from safecampus.hazards.models import Hazard, Inspection, InspectionRound

    today = timezone.localdate()
    round_ = hazards.round_launch(
        by=officer,
        unit=bureau,
        kind="self",
        title=f"{today.year}年冬季校园安全隐患自查",
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=9),
        categories=["fire", "food", "gate", "buildings"],
    )
    InspectionRound.objects.filter(pk=round_.pk).update(
        launched_at=F("launched_at") - timedelta(days=5)
    )
    west = Unit.objects.get(name="西山镇中心小学")
    other = Person.objects.get(username="other.principal")
    done = Inspection.objects.get(round=round_, unit=west)
    items = hazards.inspection_items(done)
    for n, item in enumerate(items):
        failed = n in (2, 9)
        hazards.inspection_answer(
            by=other,
            inspection=done,
            item=item,
            result="fail" if failed else ("na" if n == 5 else "pass"),
            note="宿舍楼应急照明 2 盏不亮"
            if n == 2
            else ("留样记录缺 12 月 1 日晚餐" if failed else ""),
        )
    hazards.inspection_submit(by=other, inspection=done)
    school = Unit.objects.get(name="城关镇中心小学")
    safety = Person.objects.get(username="school.safety")
    walking = Inspection.objects.get(round=round_, unit=school)
    canteen = school.areas.filter(name="食堂").first()
    for n, item in enumerate(hazards.inspection_items(walking)[:12]):
        failed = n == 4
        hazards.inspection_answer(
            by=safety,
            inspection=walking,
            item=item,
            result="fail" if failed else "pass",
            note="后厨通道堆放纸箱，影响疏散" if failed else "",
            area=canteen if failed else None,
            photos=[_demo_photo(n)] if failed else [],
        )
    fire = Hazard.objects.filter(unit=school, category="fire").order_by("pk").first()
    if fire is not None:
        hazards.hazard_photos_add(by=safety, hazard=fire, photos=[_demo_photo(1)], stage="found")
    wall = Hazard.objects.filter(unit=school, category="buildings").order_by("pk").first()
    if wall is not None:
        hazards.hazard_photos_add(by=safety, hazard=wall, photos=[_demo_photo(3)], stage="found")


def demo_routines() -> None:
    """Routine checks (防火巡查, 留样, 陪餐, 门卫巡查): 城关镇中心小学's last four school days,
    written as they would have been recorded (as the reports' history is) and closed by the
    worker's own service — complete but one day with only three gate patrols, missed and told
    to the group; today begun through the service. 城关镇第一中学 is short today: two
    patrols."""
    from safecampus.orgs.models import Membership
    from safecampus.routines import services as routines
    from safecampus.routines.models import Code, Meal, RoutineRecord, RoutineTally

    school = Unit.objects.get(name="城关镇中心小学")
    safety = Person.objects.get(username="school.safety")
    principal = Person.objects.get(username="school.principal")
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(10, 0, -1)]
    days = [d for d in days if reports.is_workday(d)][-4:]
    patrol = {"exits_clear": True, "extinguishers_ok": True, "hazards_found": False}
    for i, day in enumerate(days):
        rows: list[tuple[str, int, int, dict]] = [
            (Code.FIRE_PATROL, 7, 40, patrol),
            (Code.MEAL, 12, 0, {"who": principal.name, "meal": Meal.LUNCH, "note": "饭菜温热"}),
        ]
        rows += [
            (Code.FOOD_SAMPLE, 11, 30 + n, {"meal": Meal.LUNCH, "dish": dish, "grams": grams})
            for n, (dish, grams) in enumerate([("番茄炒蛋", 150), ("青椒肉丝", 140)])
        ]
        patrols = 3 if i == 1 else 5  # the missed day
        rows += [(Code.GATE_PATROL, 7 + 2 * n, 10, {"note": "正常"}) for n in range(patrols)]
        done: dict[str, int] = {}
        for code, hour, minute, fields in rows:
            at = timezone.make_aware(datetime.combine(day, time(hour, minute)))
            extra = {"kept_until": at + timedelta(hours=48)} if code == Code.FOOD_SAMPLE else {}
            RoutineRecord.objects.create(
                unit=school,
                code=code,
                day=day,
                done_at=at,
                recorded_by=safety,
                recorded_at=at,
                **{"who": safety.name, **fields, **extra},
            )
            done[code] = done.get(code, 0) + 1
        for code, n in done.items():
            RoutineTally.objects.create(
                unit=school,
                path=school.path,
                code=code,
                period="school_day",
                period_start=day,
                required=5 if code == Code.GATE_PATROL else 1,
                done=n,
            )
        routines.routines_close(day=day, under=school)
    routines.routine_record(by=safety, unit=school, code=Code.FIRE_PATROL, **patrol)
    routines.routine_record(by=safety, unit=school, code=Code.GATE_PATROL, note="正常")
    routines.routine_record(
        by=safety,
        unit=school,
        code=Code.FIRE_CHECK,
        exits_clear=True,
        extinguishers_ok=False,
        hazards_found=False,
        note="教学楼三楼东侧灭火器压力不足，已记入隐患台账",
    )
    other = Unit.objects.get(name="城关镇第一中学")
    keeper = Membership.objects.filter(unit=other, role=Role.SAFETY_OFFICER).first()
    if keeper is not None:
        for _n in range(2):
            routines.routine_record(by=keeper.person, unit=other, code=Code.GATE_PATROL)


def demo_drills() -> None:
    """Drills (应急演练), through the services: 城关镇中心小学 planned its year (10 fire
    evacuations, 2 earthquake, 2 anti-intruder, 1 stampede) and held a fire evacuation about
    monthly — the latest three days ago with a roll call its head teacher counted, photos, and
    two problems, one of them made a hazard; one evacuation took over 2 minutes. 西山镇中心小学
    planned and held one drill only, 城关镇中心幼儿园 is one short: both behind their plan
    (the bureau sees them worst first). The other schools have no plan. The units behind (and
    those without a plan) were told at the start of the month, as the worker does."""
    from django.db.models import F

    from safecampus.drills import services as drills
    from safecampus.drills.models import Drill, Kind
    from safecampus.incidents import services as incidents
    from safecampus.incidents.models import RollCall, RollCallCount
    from safecampus.orgs.models import Membership

    today = timezone.localdate()
    tz = timezone.get_current_timezone()

    def held(days_back: int, hour: int = 10) -> datetime:
        return datetime.combine(today - timedelta(days=days_back), time(hour, 0), tzinfo=tz)

    school = Unit.objects.get(name="城关镇中心小学")
    safety = Person.objects.get(username="school.safety")
    drills.plan_set(
        by=safety,
        unit=school,
        year=today.year,
        counts={Kind.FIRE: 10, Kind.EARTHQUAKE: 2, Kind.INTRUDER: 2, Kind.STAMPEDE: 1},
    )
    people = {"enrolled": 520, "evacuated": 520, "staff": 36, "floors": 4}
    for n, days_back in enumerate(range(35, 340, 38)):
        if (today - timedelta(days=days_back)).year == today.year:
            drills.drill_record(
                by=safety,
                unit=school,
                kind=Kind.FIRE,
                held_at=held(days_back),
                evacuation_seconds=155 if n == 2 else 100 + n,
                roll_call_result="全部到齐",
                **people,
            )
    if (today - timedelta(days=120)).year == today.year:
        drills.drill_record(
            by=safety,
            unit=school,
            kind=Kind.EARTHQUAKE,
            held_at=held(120, 15),
            evacuation_seconds=95,
            roll_call_result="全部到齐",
            note="与区地震局联合组织，先就地避险再疏散到操场。",
            **people,
        )
    if (today - timedelta(days=200)).year == today.year:
        drills.drill_record(
            by=safety,
            unit=school,
            kind=Kind.INTRUDER,
            held_at=held(200, 14),
            enrolled=520,
            evacuated=0,
            staff=36,
            note="模拟可疑人员闯入校门，门卫和护校队处置，各班关门就地隐蔽。",
        )
    latest = drills.drill_record(
        by=safety,
        unit=school,
        kind=Kind.FIRE,
        held_at=held(3),
        enrolled=520,
        evacuated=518,
        staff=36,
        evacuation_seconds=108,
        floors=4,
        roll_call_result="应到 520 人，实到 518 人，2 人病假在家，已核实。",
        problems=["三楼东侧楼梯口疏散指示灯不亮", "二年级学生下楼时在一楼拐角拥挤"],
        note="消防疏散演练，模拟食堂起火，全校师生疏散到操场。",
        photos=[_demo_photo(5, fixed=True)],
    )
    roll = drills.roll_call_start(by=safety, drill=latest)
    teacher = (
        Membership.objects.filter(unit=school, role=Role.HEAD_TEACHER).select_related("person")
    ).first()
    if teacher is not None:
        incidents.roll_call_count(
            by=teacher.person, roll_call=roll, class_name="二年级三班", present=44, absent=1
        )
    incidents.roll_call_count(
        by=safety, roll_call=roll, class_name="五年级一班（代班）", present=46, absent=0
    )
    drills.roll_call_close(by=safety, drill=latest)
    back = timezone.now() - latest.held_at - timedelta(minutes=5)
    RollCall.objects.filter(pk=roll.pk).update(
        started_at=F("started_at") - back, closed_at=F("closed_at") - back
    )
    RollCallCount.objects.filter(roll_call=roll).update(at=F("at") - back)
    Drill.objects.filter(pk=latest.pk).update(recorded_at=F("recorded_at") - back)
    drills.problem_to_hazard(by=safety, problem=latest.problems.order_by("order").first())

    other = Unit.objects.get(name="西山镇中心小学")
    other_principal = Person.objects.get(username="other.principal")
    drills.plan_set(
        by=other_principal,
        unit=other,
        year=today.year,
        counts={Kind.FIRE: 10, Kind.EARTHQUAKE: 1, Kind.INTRUDER: 1},
    )
    drills.drill_record(
        by=other_principal,
        unit=other,
        kind=Kind.FIRE,
        held_at=held(3 if today.month == 1 else (today - today.replace(month=1, day=10)).days, 9),
        enrolled=380,
        evacuated=380,
        staff=25,
        evacuation_seconds=140,
        floors=3,
    )
    kindergarten = Unit.objects.get(name="城关镇中心幼儿园")
    keeper = kindergarten.head
    if keeper is not None:
        drills.plan_set(
            by=keeper,
            unit=kindergarten,
            year=today.year,
            counts={Kind.FIRE: 4, Kind.EARTHQUAKE: 1, Kind.INTRUDER: 1},
        )
        for days_back in (200, 110):
            if (today - timedelta(days=days_back)).year == today.year:
                drills.drill_record(
                    by=keeper,
                    unit=kindergarten,
                    kind=Kind.FIRE,
                    held_at=held(days_back),
                    enrolled=210,
                    evacuated=210,
                    staff=30,
                    evacuation_seconds=130,
                    floors=2,
                )
    drills.drills_behind_notify(day=today.replace(day=1) - timedelta(days=1))


def demo_campaigns(officer: Person, bureau: Unit) -> None:
    """Campaigns (专项行动), through the services. The bureau's winter campaign began ten days
    ago and is in its implementation phase (组织实施): a leadership group, five tasks — the
    first two overdue for the schools that have not done them (西山镇中心小学 among them),
    城关镇中心小学 has done those and has three to go — and a level-2 order for the district
    issued through it until the phase ends, whose measures half the units have confirmed
    (the roster measure only where duty has no gap). 城关学区's autumn campaign ended three
    weeks ago: its schools were asked for their summaries, all but one wrote one (one late)."""
    from django.core.exceptions import ValidationError

    from safecampus.campaigns import services as campaigns
    from safecampus.campaigns.models import Campaign, Phase, Summary, Task, TaskDone, end_of
    from safecampus.campaigns.selectors import campaign_units
    from safecampus.levels import services as levels
    from safecampus.levels.models import OrderUnit
    from safecampus.orgs.models import MANAGER_ROLES, Membership
    from safecampus.worker.timers import timer_cancel

    today = timezone.localdate()

    def manager(unit: Unit) -> Person | None:
        row = (
            Membership.objects.filter(unit=unit, role__in=MANAGER_ROLES)
            .select_related("person")
            .order_by("pk")
            .first()
        )
        return row.person if row else None

    campaign = campaigns.campaign_create(
        by=officer,
        unit=bureau,
        name=f"{today.year}年冬季校园安全专项整治行动",
        goal="全面排查整治校园消防、食品、交通、校舍和周边安全隐患，落实人防物防技防，"
        "确保冬季和元旦春节期间校园安全稳定，不发生重大安全责任事故。",
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=30),
    )
    director = Unit.objects.get(pk=bureau.pk).head
    if director is not None:
        campaigns.member_add(
            by=officer,
            campaign=campaign,
            person=director,
            position=Position.LEADER,
            duty="全面负责",
        )
    campaigns.member_add(
        by=officer,
        campaign=campaign,
        person=officer,
        position=Position.DEPUTY,
        duty="统筹协调，督查各单位任务落实",
    )
    for group in Unit.objects.filter(kind=UnitKind.GROUP).order_by("path"):
        if group.head is not None:
            campaigns.member_add(
                by=officer,
                campaign=campaign,
                person=group.head,
                position=Position.MEMBER,
                duty=f"负责{group.name}各校的推进",
            )
    phases = list(Phase.objects.filter(campaign=campaign).order_by("position"))
    plan = [
        (0, "制定本单位专项行动实施方案并报备", -7),
        (0, "召开全体教职工专项行动动员会", -7),
        (1, "开展校园消防安全隐患大排查", 5),
        (1, "组织一次全员应急疏散演练", 9),
        (2, "元旦期间校门安保与领导带班值守", 19),
    ]
    tasks = []
    for phase_index, title, due in plan:
        task = campaigns.task_create(
            by=officer,
            phase=phases[phase_index],
            title=title,
            due_on=max(today, today + timedelta(days=due)),
        )
        if due < 0:  # set before today (as the history of the other apps is written)
            day = today + timedelta(days=due)
            Task.objects.filter(pk=task.pk).update(due_on=day, due_at=end_of(day))
            task.refresh_from_db()
        tasks.append(task)
    units = list(campaign_units(campaign))
    school = Unit.objects.get(name="城关镇中心小学")
    west = Unit.objects.get(name="西山镇中心小学")
    for n, unit in enumerate(units):
        person = Person.objects.get(username="school.safety") if unit == school else manager(unit)
        if person is None or unit == west:
            continue
        todo = tasks[:2] if unit == school or n % 3 else tasks[:1]
        if n % 4 == 0 and unit != school:
            todo = [*todo, tasks[2]]
        for i, task in enumerate(todo):
            done, _created = campaigns.task_mark_done(
                by=person, task=task, unit=unit, note="已完成，材料已归档" if i == 0 else ""
            )
            if task.due_on < today:  # done back then: the evening before, one in ten late
                late = timedelta(days=1 if n % 10 == 7 else -1)
                at = end_of(task.due_on) + late - timedelta(hours=6)
                TaskDone.objects.filter(pk=done.pk).update(done_at=at)

    # A level-2 order for the district until the implementation phase ends.
    (order,) = campaigns.campaign_orders_issue(
        by=officer,
        campaign=campaign,
        orders=[campaigns.PlannedOrder(2, today, phases[1].ends_on)],
        reason=f"{campaign.name}：组织实施阶段实行加强防控",
    )
    measures = list(order.measures.order_by("position"))
    rows = OrderUnit.objects.filter(order=order).select_related("unit", "order").order_by("path")
    for n, row in enumerate(rows):
        if row.unit == school:
            confirming = measures[: len(measures) // 2 + 1]
        elif n % 2 == 0:
            confirming = measures
        else:
            continue
        person = Person.objects.get(username="school.principal") if row.unit == school else None
        person = person or manager(row.unit)
        if person is None:
            continue
        for measure in confirming:
            try:  # the roster measure is refused while duty finds a gap: as in life
                levels.measure_confirm(by=person, order_unit=row, measure=measure)
            except ValidationError:
                continue

    # The autumn campaign of 城关学区, over: summaries asked for, all but one written.
    group = Unit.objects.get(name="城关学区")
    head = Person.objects.get(username="group.head")
    past = campaigns.campaign_create(
        by=head,
        unit=group,
        name=f"{today.year}年秋季开学校园安全专项检查",
        goal="开学前后全面检查校舍、食堂、校车和校门安全，开学第一课开展安全教育。",
        starts_on=today,
        ends_on=today + timedelta(days=27),
    )
    timer_cancel(key=campaigns.summary_timer_key(past))
    back = timedelta(days=55)
    Campaign.objects.filter(pk=past.pk).update(
        starts_on=past.starts_on - back, ends_on=past.ends_on - back
    )
    for phase in Phase.objects.filter(campaign=past):
        Phase.objects.filter(pk=phase.pk).update(
            starts_on=phase.starts_on - back, ends_on=phase.ends_on - back
        )
    past.refresh_from_db()
    campaigns.summaries_request(campaign_id=past.pk)
    schools = list(campaign_units(past))
    texts = [
        "一、工作开展：开学前完成校舍、食堂、消防设施全面检查，发现隐患 {n} 处，已全部整改。\n"
        "二、安全教育：各班上好开学安全第一课，开展消防疏散演练一次。\n"
        "三、存在问题：校门口上下学时段交通拥堵，已协调交警加强疏导。\n"
        "四、下一步：落实常态化排查，完善隐患台账。",
    ]
    for n, unit in enumerate(schools[:-1]):
        person = Person.objects.get(username="school.principal") if unit == school else None
        person = person or manager(unit)
        if person is None:
            continue
        summary = campaigns.summary_submit(
            by=person, campaign=past, unit=unit, text=texts[0].format(n=n + 2)
        )
        late = n == 1
        at = end_of(past.ends_on) + timedelta(days=past.summary_days + 1 if late else 2, hours=-8)
        Summary.objects.filter(pk=summary.pk).update(submitted_at=at, updated_at=at)
