"""What the spot-check, reminder, feed, export and API tests share: school B has a day
shift 08:00–18:00 on NOON's day, duty_b on it and leader_b (its principal and head)
leading; school A has a safety officer and no shift."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from safecampus.duty import services
from safecampus.orgs.models import Membership, Role
from safecampus.test import BaseTestCase, make_person

TZ = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=TZ)


class DutyCase(BaseTestCase):
    """School B has a day shift 08:00–18:00 today: duty_b on it, leader_b leading."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.leader_b = make_person("leader.b", "赵校长", "13900000011")
        Membership.objects.create(person=cls.leader_b, unit=cls.school_b, role=Role.PRINCIPAL)
        cls.school_b.head = cls.leader_b
        cls.school_b.save()
        cls.safety_a = make_person("safety.a", "钱安全", "13900000012")
        Membership.objects.create(person=cls.safety_a, unit=cls.school_a, role=Role.SAFETY_OFFICER)
        with time_machine.travel(NOON - dt.timedelta(days=2), tick=False):
            cls.shift_b = services.shift_create(
                by=cls.officer,
                unit=cls.school_b,
                name="白班",
                starts_at=NOON.replace(hour=8),
                ends_at=NOON.replace(hour=18),
                leader=cls.leader_b,
                staff=[cls.duty_b],
                phone="0571-8888",
            )
