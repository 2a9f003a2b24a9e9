"""One shift added and changed by hand through the page, a swap in exchange for one of
the other person's shifts, and the duty entries of the audit trail read in words."""

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import translation

from safecampus.audit.selectors import ACTION_LABELS
from safecampus.duty import services
from safecampus.duty.models import MemberRole, Shift, SwapRequest, SwapStatus
from safecampus.orgs.models import Membership, Role
from safecampus.test import make_person

from .test_duty_services import TUESDAY, DutyCase, at, travel

WEDNESDAY = TUESDAY + dt.timedelta(days=1)


def _form(name: str, starts: str, ends: str, leader: object = "", staff=(), phone: str = ""):
    return {
        "name": name,
        "starts_at": starts,
        "ends_at": ends,
        "leader": getattr(leader, "pk", leader),
        "staff": [p.pk for p in staff],
        "phone": phone,
    }


class ShiftByHandTest(DutyCase):
    def test_add_and_change_one_shift_through_the_page(self) -> None:
        client = self.client_for(self.principal_a)
        roster = client.get(f"/duty/units/{self.school_a.pk}/?month=2030-03")
        new_url = reverse("duty:shift-new", args=[self.school_a.pk])
        self.assertContains(roster, new_url)
        self.assertEqual(client.get(new_url + "?day=2030-03-05").status_code, 200)
        response = client.post(
            new_url,
            _form(
                "白班",
                "2030-03-05T08:00",
                "2030-03-05T18:00",
                self.safety_a,
                [self.duty_a1],
                "0571-1234",
            ),
        )
        shift = Shift.objects.get(unit=self.school_a)
        self.assertRedirects(response, reverse("duty:shift", args=[shift.pk]))
        self.assertEqual((shift.starts_at, shift.ends_at), (at(TUESDAY, 8), at(TUESDAY, 18)))
        self.assertEqual(shift.phone, "0571-1234")
        self.assertEqual(
            set(shift.members.values_list("person_id", "role")),
            {(self.safety_a.pk, MemberRole.LEADER), (self.duty_a1.pk, MemberRole.STAFF)},
        )
        edit_url = reverse("duty:shift-edit", args=[shift.pk])
        self.assertContains(client.get(reverse("duty:shift", args=[shift.pk])), edit_url)
        page = client.get(edit_url)
        self.assertContains(page, 'value="2030-03-05T08:00"')  # the shift as it is
        response = client.post(
            edit_url,
            _form("早班", "2030-03-05T07:00", "2030-03-05T12:00", self.principal_a, [self.duty_a2]),
        )
        self.assertRedirects(response, reverse("duty:shift", args=[shift.pk]))
        shift.refresh_from_db()
        self.assertEqual((shift.name, shift.starts_at), ("早班", at(TUESDAY, 7)))
        self.assertEqual(
            set(shift.members.values_list("person_id", flat=True)),
            {self.principal_a.pk, self.duty_a2.pk},
        )

    def _refused(self, url: str, data: dict, field: str, words: str):
        with translation.override("en"):
            response = self.client_for(self.principal_a).post(url, data)
            self.assertEqual(response.status_code, 400)
            form = response.context["form"]
            self.assertIn(words, " ".join(form.errors.get(field, [])), form.errors)
        # What was typed stays.
        self.assertContains(response, f'value="{data["starts_at"]}"', status_code=400)
        self.assertContains(response, f'value="{data["name"]}"', status_code=400)
        return response

    def test_bad_input_beside_its_field_keeping_what_was_typed(self) -> None:
        url = reverse("duty:shift-new", args=[self.school_a.pk])
        stranger = make_person("stranger.b", "外校人", "13900000099")
        Membership.objects.create(person=stranger, unit=self.school_b, role=Role.DUTY_STAFF)
        self._refused(
            url,
            _form("夜班", "2030-03-05T18:00", "2030-03-05T08:00", staff=[self.duty_a1]),
            "ends_at",
            "ends before it starts",
        )
        self._refused(
            url,
            _form("长班", "2030-03-05T08:00", "2030-03-06T09:00", staff=[self.duty_a1]),
            "ends_at",
            "at most 24 hours",
        )
        # A person from another unit is not even offered; posted anyway, refused.
        self._refused(
            url,
            _form("白班", "2030-03-05T08:00", "2030-03-05T18:00", staff=[stranger]),
            "staff",
            "Select a valid choice",
        )
        self.assertEqual(Shift.objects.count(), 0)
        first = services.shift_create(
            by=self.principal_a,
            unit=self.school_a,
            name="白班",
            starts_at=at(TUESDAY, 8),
            ends_at=at(TUESDAY, 18),
            leader=self.safety_a,
            staff=[self.duty_a1],
        )
        response = self._refused(
            url,
            _form("午班", "2030-03-05T12:00", "2030-03-05T20:00", self.principal_a, [self.duty_a1]),
            "staff",
            "孙值班 cannot hold two overlapping shifts",
        )
        with translation.override("en"):
            message = " ".join(response.context["form"].errors["staff"])
        self.assertIn(services.shift_label(first), message)
        self.assertIn("午班", message)
        # The leader's overlap is shown beside the leader; editing checks it too.
        second = services.shift_create(
            by=self.principal_a,
            unit=self.school_a,
            name="夜班",
            starts_at=at(TUESDAY, 18),
            ends_at=at(WEDNESDAY, 8),
            leader=None,
            staff=[self.duty_a2],
        )
        self._refused(
            reverse("duty:shift-edit", args=[second.pk]),
            _form("夜班", "2030-03-05T17:00", "2030-03-06T08:00", self.safety_a, [self.duty_a2]),
            "leader",
            "赵安全 cannot hold two overlapping shifts",
        )
        second.refresh_from_db()
        self.assertEqual(second.starts_at, at(TUESDAY, 18))

    def test_only_the_units_planners(self) -> None:
        url = reverse("duty:shift-new", args=[self.school_a.pk])
        self.assertEqual(self.client_for(self.duty_a1).get(url).status_code, 403)
        self.assertEqual(self.client_for(self.duty_b).get(url).status_code, 404)
        shift = services.shift_create(
            by=self.principal_a,
            unit=self.school_a,
            name="白班",
            starts_at=at(TUESDAY, 8),
            ends_at=at(TUESDAY, 18),
            leader=None,
            staff=[self.duty_a1],
        )
        edit = reverse("duty:shift-edit", args=[shift.pk])
        self.assertEqual(self.client_for(self.duty_a1).post(edit, {}).status_code, 403)
        self.assertEqual(self.client_for(self.duty_b).get(edit).status_code, 404)
        self.assertNotContains(
            self.client_for(self.duty_a1).get(reverse("duty:shift", args=[shift.pk])), edit
        )


class SwapInExchangeTest(DutyCase):
    def test_the_form_offers_the_others_shifts_and_approval_swaps_both(self) -> None:
        self.plan()
        mine = self.shift_on(TUESDAY, "白班")  # 赵安全 leads, 孙值班
        theirs = self.shift_on(WEDNESDAY, "夜班")  # the principal leads, 钱值班
        my_other = self.shift_on(WEDNESDAY, "白班")  # 孙值班's own: never offered
        client = self.client_for(self.duty_a1)
        page = client.get(reverse("duty:shift", args=[mine.pk]))
        field = page.context["swap_form"]["in_exchange"]
        offered = {
            str(v)
            for group, options, _i in field.field.widget.optgroups("x", "")
            for v in [o["value"] for o in options]
        }
        self.assertIn(str(theirs.pk), offered)
        self.assertNotIn(str(my_other.pk), offered)
        self.assertNotIn(str(mine.pk), offered)
        groups = [g for g, _o, _i in field.field.widget.optgroups("x", "") if g]
        self.assertIn("钱值班", groups)
        # A shift of someone other than the person asked: refused beside the field.
        others = services.shift_create(
            by=self.principal_a,
            unit=self.school_a,
            name="午班",
            starts_at=at(WEDNESDAY, 12),
            ends_at=at(WEDNESDAY, 14),
            leader=None,
            staff=[self.principal_a],
        )
        with translation.override("en"):
            bad = client.post(
                reverse("duty:shift", args=[mine.pk]),
                {
                    "action": "swap",
                    "to_person": self.duty_a2.pk,
                    "in_exchange": others.pk,
                    "reason": "家里有事",
                },
            )
            self.assertEqual(bad.status_code, 400)
            self.assertIn(
                "Choose a shift of 钱值班", " ".join(bad.context["swap_form"].errors["in_exchange"])
            )
        self.assertContains(bad, "家里有事", status_code=400)
        self.assertFalse(SwapRequest.objects.exists())
        response = client.post(
            reverse("duty:shift", args=[mine.pk]),
            {"action": "swap", "to_person": self.duty_a2.pk, "in_exchange": theirs.pk},
        )
        self.assertEqual(response.status_code, 302)
        swap = SwapRequest.objects.get(in_exchange=theirs)
        self.assertContains(
            self.client_for(self.duty_a2).get(f"/duty/swaps/{swap.pk}/"), "in-exchange"
        )
        self.client_for(self.duty_a2).post(f"/duty/swaps/{swap.pk}/", {"decision": "accept"})
        self.client_for(self.principal_a).post(f"/duty/swaps/{swap.pk}/", {"decision": "approve"})
        swap.refresh_from_db()
        self.assertEqual(swap.status, SwapStatus.APPROVED)
        self.assertEqual(
            set(mine.members.values_list("person_id", flat=True)),
            {self.safety_a.pk, self.duty_a2.pk},
        )
        self.assertEqual(
            set(theirs.members.values_list("person_id", flat=True)),
            {self.principal_a.pk, self.duty_a1.pk},
        )


class DutyAuditLabelsTest(DutyCase):
    def test_duty_entries_read_in_words(self) -> None:
        self.plan()
        mine = self.shift_on(TUESDAY, "白班")
        swap = services.swap_request(by=self.duty_a1, shift=mine, to_person=self.duty_a2)
        services.swap_accept(by=self.duty_a2, swap=swap)
        services.swap_decide(by=self.principal_a, swap=swap, approve=True)
        night = self.shift_on(TUESDAY, "夜班")
        with travel(at(TUESDAY, 17, 30)):
            services.shift_hand_over(by=self.duty_a2, shift=mine, note="东门锁坏了")
            services.shift_take_over(by=self.principal_a, shift=mine)
        self.assertTrue(night)
        for action in ("duty_plan", "duty_swap", "duty_handover", "duty_take_over"):
            self.assertIn(action, ACTION_LABELS)
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(self.auditadmin)
        with translation.override("en"):
            text = client.get(reverse("audit:trail")).content.decode()
        for words in (
            "duty roster planned for the month",
            "shift swapped",
            "shift handed over",
            "shift taken over",
            "person leaving, person coming",
            "shifts replaced, shifts planned",
        ):
            self.assertIn(words, text)
        for raw in ("duty_plan", "duty_swap", "duty_handover", "duty_take_over", "#王校长"):
            self.assertNotIn(f">{raw}<", text)  # (the filter's option values are codes)
            self.assertNotIn(f"{raw}:", text)


class PhoneLayoutTest(DutyCase):
    def test_the_duty_phone_once_as_a_tel_link_and_narrow_tables(self) -> None:
        self.plan()
        services.duty_settings_update(
            by=self.principal_a,
            unit=self.school_a,
            duty_phone="0571-1111",
            remind_minutes=30,
            spot_check_minutes=5,
        )
        client = self.client_for(self.principal_a)
        roster = client.get(f"/duty/units/{self.school_a.pk}/?month=2030-03").content.decode()
        self.assertIn('href="tel:', roster)
        # Planned before the phone was set: every shift has the unit's old phone, shown
        # in its own column; a roster where all shifts carry the unit's phone has none.
        Shift.objects.filter(unit=self.school_a).update(phone="0571-1111")
        roster = client.get(f"/duty/units/{self.school_a.pk}/?month=2030-03").content.decode()
        self.assertIn('<a href="tel:0571-1111" data-testid="duty-phone">', roster)
        self.assertEqual(roster.count("0571-1111"), 2)  # once, not on every row
        overview = client.get(f"/duty/now/?unit={self.school_a.pk}").content.decode()
        head = overview.split("<thead>")[1].split("</thead>")[0]
        self.assertEqual(head.count("<th>"), 2)
