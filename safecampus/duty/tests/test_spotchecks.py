"""查岗: sent by the level above to whoever is on duty, answered with one tap (link or
button); late counts as late, twice counts once, a stranger's token is refused; the worker
records a miss at the limit, late when it was down, saying how late."""

import datetime as dt

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from safecampus.duty import spotchecks
from safecampus.duty.models import SpotCheck
from safecampus.notify.models import Delivery, Notification, Urgency
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain

from .edge_base import NOON, DutyCase


class SpotCheckTests(DutyCase):
    def send(self, unit=None, by=None) -> SpotCheck:  # noqa: ANN001
        return spotchecks.spot_check_send(by=by or self.officer, unit=unit or self.school_b)

    def test_sent_to_everyone_on_duty_urgent_with_a_link_of_their_own(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
        self.assertEqual(check.shift, self.shift_b)
        self.assertEqual(check.due_at, NOON + dt.timedelta(minutes=5))
        notes = Notification.objects.filter(event=spotchecks.EVENT)
        self.assertEqual(notes.count(), 2)
        self.assertEqual({n.urgency for n in notes}, {Urgency.URGENT})
        to = {
            d.person_id: d.notification.link
            for d in Delivery.objects.filter(
                notification__in=notes, transport="inbox"
            ).select_related("notification")
        }
        self.assertEqual(set(to), {self.duty_b.pk, self.leader_b.pk})
        self.assertNotEqual(to[self.duty_b.pk], to[self.leader_b.pk])
        self.assertTrue(Timer.objects.filter(key=f"duty:spot:{check.pk}", due_at=check.due_at))

    def test_answered_in_time_by_link_without_login(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
            link = spotchecks.answer_url(check, self.duty_b)
        with time_machine.travel(NOON + dt.timedelta(minutes=3), tick=False):
            page = Client().get(link)
            self.assertEqual(page.status_code, 200)
            self.assertContains(page, 'data-testid="answer"')
            Client().post(link)
        check.refresh_from_db()
        self.assertEqual(check.answered_by, self.duty_b)
        self.assertEqual(spotchecks.outcome(check), spotchecks.Outcome.ON_TIME)

    def test_answered_after_the_limit_counts_as_late(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
        with time_machine.travel(NOON + dt.timedelta(minutes=7), tick=False):
            spotchecks.spot_check_answer(check=check, by=self.duty_b)
        check.refresh_from_db()
        self.assertTrue(check.is_late())
        self.assertEqual(spotchecks.outcome(check), spotchecks.Outcome.LATE)
        tally = spotchecks.spot_check_tally(self.officer, unit=self.bureau, month=NOON.date())
        self.assertEqual(
            [(r["unit_id"], r["on_time"], r["late"], r["missed"]) for r in tally],
            [(self.school_b.pk, 0, 1, 0)],
        )

    def test_answered_twice_counts_once(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
            link = spotchecks.answer_url(check, self.duty_b)
        with time_machine.travel(NOON + dt.timedelta(minutes=2), tick=False):
            Client().post(link)
        with time_machine.travel(NOON + dt.timedelta(minutes=9), tick=False):
            Client().post(link)  # the same person again, late
            spotchecks.spot_check_answer(check=check, by=self.leader_b)  # the other one
        check.refresh_from_db()
        self.assertEqual(check.answered_at, NOON + dt.timedelta(minutes=2))
        self.assertEqual(check.answered_by, self.duty_b)
        tally = spotchecks.spot_check_tally(self.officer, unit=self.bureau, month=NOON.date())
        self.assertEqual((tally[0]["sent"], tally[0]["on_time"], tally[0]["late"]), (1, 1, 0))

    def test_a_strangers_token_is_refused(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
            good = spotchecks.answer_token(check, self.duty_b)
        forged = [
            good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # signature broken
            f"{check.token}.{self.teacher_a.pk}",  # unsigned
            spotchecks.answer_token(check, self.teacher_a)[:-1] + "x",
            "nonsense",
        ]
        for token in forged:
            with self.subTest(token=token):
                self.assertEqual(Client().post(f"/duty/spot/{token}/").status_code, 404)
        # Signed right, for a person it was not sent to (made with the key, say): refused.
        stranger = spotchecks.answer_token(check, self.teacher_a)
        response = Client().post(reverse("duty:spot-answer", kwargs={"token": stranger}))
        self.assertEqual(response.status_code, 404)
        with self.assertRaises(ValidationError):
            spotchecks.spot_check_answer(check=check, by=self.teacher_a)
        # The page button: a person it was not sent to gets 404, nothing recorded.
        response = self.client_for(self.teacher_a).post(
            reverse("duty:spot-answer-here", kwargs={"pk": check.pk})
        )
        self.assertEqual(response.status_code, 404)
        check.refresh_from_db()
        self.assertIsNone(check.answered_at)

    def test_button_on_the_page_answers(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
            client = self.client_for(self.leader_b)
            page = client.get(reverse("duty:spot-mine"))
            self.assertContains(page, f'data-testid="answer-{check.pk}"')
            client.post(reverse("duty:spot-answer-here", kwargs={"pk": check.pk}))
        check.refresh_from_db()
        self.assertEqual(check.answered_by, self.leader_b)

    def test_only_the_level_above_sends(self) -> None:
        with time_machine.travel(NOON, tick=False):
            for person, unit in [
                (self.leader_b, self.school_b),  # its own principal
                (self.duty_b, self.school_b),
                (self.principal_a, self.school_b),  # another school's
                (self.sysadmin, self.school_b),
            ]:
                with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                    spotchecks.spot_check_send(by=person, unit=unit)
            self.assertEqual(SpotCheck.objects.count(), 0)

    def test_nobody_on_duty_goes_to_the_fallback_and_says_so(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send(unit=self.school_a)  # no shift at A: head unset → safety officer
        self.assertIsNone(check.shift)
        to = Delivery.objects.filter(notification__params__spot_check=check.pk, transport="inbox")
        self.assertEqual([d.person_id for d in to], [self.safety_a.pk])
        self.assertTrue(to[0].notification.params["fallback"])
        tally = spotchecks.spot_check_tally(self.officer, unit=self.bureau, month=NOON.date())
        self.assertEqual([(r["unit_id"], r["fallback"]) for r in tally], [(self.school_a.pk, 1)])

    def test_worker_marks_missed_at_the_limit(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
        with time_machine.travel(NOON + dt.timedelta(minutes=5, seconds=1), tick=False):
            drain()
        check.refresh_from_db()
        self.assertEqual(check.missed_at, NOON + dt.timedelta(minutes=5, seconds=1))
        self.assertEqual(spotchecks.outcome(check), spotchecks.Outcome.MISSED)
        told = Notification.objects.get(event=spotchecks.EVENT_MISSED)
        self.assertEqual(told.params["spot_check"], check.pk)

    def test_worker_down_fires_when_back_and_records_how_late(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
        back = NOON + dt.timedelta(minutes=47)
        with time_machine.travel(back, tick=False):
            drain()
            drain()  # once only
        check.refresh_from_db()
        self.assertEqual(check.missed_at, back)
        self.assertEqual(spotchecks.lateness(check), dt.timedelta(minutes=42))
        timer = Timer.objects.get(key=f"duty:spot:{check.pk}")
        self.assertEqual(timer.late_ms, 42 * 60 * 1000)
        self.assertEqual(Notification.objects.filter(event=spotchecks.EVENT_MISSED).count(), 1)
        with time_machine.travel(back, tick=False), translation.override("en"):
            page = self.client_for(self.officer).get(
                reverse("duty:spot-checks", kwargs={"pk": self.bureau.pk}) + "?month=2026-11"
            )
        self.assertContains(page, "recorded 2520 s after the limit")

    def test_answer_after_a_recorded_miss_counts_as_late_not_missed(self) -> None:
        with time_machine.travel(NOON, tick=False):
            check = self.send()
        with time_machine.travel(NOON + dt.timedelta(minutes=6), tick=False):
            drain()
            spotchecks.spot_check_answer(check=check, by=self.duty_b)
        tally = spotchecks.spot_check_tally(self.officer, unit=self.bureau, month=NOON.date())
        self.assertEqual((tally[0]["late"], tally[0]["missed"]), (1, 0))

    def test_a_sample_of_units_under_a_root(self) -> None:
        with time_machine.travel(NOON, tick=False):
            checks = spotchecks.spot_check_send_batch(by=self.officer, root=self.bureau, sample=3)
        self.assertEqual(len(checks), 3)
        self.assertEqual(len({c.batch for c in checks}), 1)
        self.assertNotIn(self.bureau.pk, [c.unit_id for c in checks])
        with self.assertRaises(ValidationError):
            spotchecks.spot_check_send_batch(by=self.officer, root=self.bureau, sample=0)

    def test_list_page_per_unit_and_month_b_cannot_see_a(self) -> None:
        with time_machine.travel(NOON, tick=False):
            self.send(unit=self.school_a)
            self.send(unit=self.school_b)
            url = reverse("duty:spot-checks", kwargs={"pk": self.school_a.pk})
            self.assertEqual(self.client_for(self.duty_b).get(url).status_code, 404)
            self.assertEqual(self.client_for(self.leader_b).get(url).status_code, 404)
            page = self.client_for(self.principal_a).get(url + "?month=2026-11")
            self.assertEqual(page.status_code, 200)
            self.assertEqual([r["unit_id"] for r in page.context["tally"]], [self.school_a.pk])
            bureau = self.client_for(self.officer).get(
                reverse("duty:spot-checks", kwargs={"pk": self.bureau.pk}) + "?month=2026-11"
            )
            self.assertEqual(len(bureau.context["tally"]), 2)
            # Another month: nothing.
            other = self.client_for(self.officer).get(
                reverse("duty:spot-checks", kwargs={"pk": self.bureau.pk}) + "?month=2026-10"
            )
            self.assertEqual(other.context["tally"], [])


class DemoSpotCheckTests(DutyCase):
    def test_the_demo_miss_is_listed_as_missed(self) -> None:
        check = spotchecks.spot_check_demo_missed(
            by=self.officer, unit=self.school_b, at=NOON - dt.timedelta(hours=2)
        )
        self.assertEqual(check.shift, self.shift_b)
        with time_machine.travel(NOON, tick=False):
            tally = spotchecks.spot_check_tally(self.officer, unit=self.bureau, month=NOON.date())
        self.assertEqual([(r["unit_id"], r["missed"]) for r in tally], [(self.school_b.pk, 1)])
