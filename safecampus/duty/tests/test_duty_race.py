"""Two planners at the same moment put one person on two overlapping shifts: one wins,
the other is refused naming both shifts (the people's rows are locked, in pk order, before
the check; on SQLite each writing transaction holds the whole database). Both databases."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

from safecampus.duty import services
from safecampus.duty.models import Shift, ShiftMember
from safecampus.orgs.models import Membership, Role
from safecampus.reports.tests.test_report_race import at_once
from safecampus.test import Personas, TransactionalTestCase, make_person

SHANGHAI = ZoneInfo("Asia/Shanghai")


class OverlapRaceTest(Personas, TransactionalTestCase):
    def setUp(self) -> None:
        self.build_district()
        self.duty_a = make_person("duty.a", "孙值班", "13900000012")
        Membership.objects.create(person=self.duty_a, unit=self.school_a, role=Role.DUTY_STAFF)
        self.other = make_person("duty.a2", "钱值班", "13900000013")
        Membership.objects.create(person=self.other, unit=self.school_a, role=Role.DUTY_STAFF)

    def test_two_planners_at_once_one_wins(self) -> None:
        day = timezone.localdate() + dt.timedelta(days=3)
        refusals: list[str] = []

        def plan(hour: int, by: object) -> None:
            try:
                services.shift_create(
                    by=by,
                    unit=self.school_a,
                    name=f"班{hour}",
                    starts_at=dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI),
                    ends_at=dt.datetime.combine(day, dt.time(hour + 6), tzinfo=SHANGHAI),
                    leader=None,
                    # Both shifts also hold another person, listed in the other order: the
                    # locks are taken in pk order, so neither waits for the other in a circle.
                    staff=[self.duty_a, self.other] if hour == 8 else [self.other, self.duty_a],
                )
            except ValidationError as exc:
                refusals.append(exc.messages[0])
                raise

        for _round in range(3):
            Shift.objects.all().delete()
            refusals.clear()
            errors = at_once(lambda: plan(8, self.principal_a), lambda: plan(10, self.officer))
            self.assertEqual(errors, [])
            self.assertEqual(Shift.objects.count(), 1)
            self.assertEqual(ShiftMember.objects.filter(person=self.duty_a).count(), 1)
            self.assertEqual(len(refusals), 1)
            self.assertIn("班8", refusals[0])
            self.assertIn("班10", refusals[0])
