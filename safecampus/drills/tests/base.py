"""What the drill tests share: the personas (safecampus/test.py) plus a principal of school B
(principal_b, who must see and change nothing of A's) and a second head teacher of school A;
the clock held at NOW, a Tuesday late in November 2026 (the year 90 % gone)."""

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from PIL import Image

from safecampus.drills import services
from safecampus.drills.models import Drill, Kind
from safecampus.orgs.models import Membership, Person, Role, Unit
from safecampus.test import BaseTestCase, make_person

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=TZ)
TODAY = NOW.date()


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def jpeg(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


class DrillCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.principal_b = make_person("principal.b", "赵校长", "13900000031")
        Membership.objects.create(person=cls.principal_b, unit=cls.school_b, role=Role.PRINCIPAL)
        cls.teacher_a2 = make_person("teacher.a2", "林老师", "13900000032")
        Membership.objects.create(person=cls.teacher_a2, unit=cls.school_a, role=Role.HEAD_TEACHER)

    def setUp(self) -> None:
        super().setUp()
        self.traveller = time_machine.travel(NOW, tick=False)
        self.traveller.start()
        self.addCleanup(self.traveller.stop)

    def record(self, unit: Unit | None = None, by: Person | None = None, **fields: Any) -> Drill:
        values = {
            "kind": Kind.FIRE,
            "held_at": at(TODAY - dt.timedelta(days=1)),
            "enrolled": 500,
            "evacuated": 498,
            "staff": 30,
            "evacuation_seconds": 105,
            "floors": 4,
        } | fields
        return services.drill_record(
            by=by or self.principal_a, unit=unit or self.school_a, **values
        )
