"""/api/v1/alert-…: issue (201; 422 naming the field, below the parent refused), the effective
level, the units that have not confirmed, a school's confirmation (once), the chase, a bureau's
measures; another school's row is 404."""

from django.utils import timezone

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.levels.models import AlertOrder, Check, OrderUnit

from .test_services import DAY, HOUR, LevelCase


def iso(value) -> str:  # noqa: ANN001
    return timezone.localtime(value).isoformat()


class LevelApiTests(LevelCase, ApiTestCase):
    def post_order(self, person=None, **extra):  # noqa: ANN001, ANN003, ANN201
        body = {
            "unit_id": self.bureau.pk,
            "level": 2,
            "starts_at": iso(self.now - HOUR),
            "ends_at": iso(self.now + 7 * DAY),
            "reason": "春节期间加强防控",
        } | extra
        return self.api(person or self.officer).post("/alert-orders", body)

    def test_issue_read_and_the_effective_level(self) -> None:
        created = self.post_order()
        self.assertEqual(created.status_code, 201, created.content)
        body = created.json()
        self.assertEqual((body["level"], body["units_total"]), (2, 4))
        self.assertTrue(body["measures"][0]["checked_by_system"])
        self.assertEqual(body["progress"], {"total": 4, "acknowledged": 0, "done": 0})
        effective = self.api(self.principal_a).get(
            f"/alert-levels/effective?unit_id={self.school_a.pk}"
        )
        self.assertEqual(effective.json()["level"], 2)
        self.assertEqual(effective.json()["order"]["id"], body["id"])
        listed = self.api(self.principal_a).get("/alert-orders").json()
        self.assertEqual([o["id"] for o in listed], [body["id"]])

    def test_bad_input_names_the_field(self) -> None:
        self.assertError(
            self.post_order(starts_at=iso(self.now + DAY), ends_at=iso(self.now)),
            422,
            "ends_at",
            "before it starts",
        )
        self.assertError(self.post_order(level=3), 422, "level")
        self.assertError(self.post_order(reason=""), 422, "reason")
        self.post_order(level=1)
        self.assertError(
            self.post_order(self.principal_a, unit_id=self.school_a.pk, level=2),
            422,
            "level",
            "never go below",
        )
        self.assertEqual(self.post_order(self.principal_a).status_code, 404)  # not visible to her
        self.assertEqual(AlertOrder.objects.count(), 1)

    def test_a_school_confirms_once_and_the_issuer_sees_who_has_not(self) -> None:
        order_id = self.post_order().json()["id"]
        order = AlertOrder.objects.get(pk=order_id)
        measure = order.measures.exclude(auto_check=Check.DUTY_LEADER).first()
        url = f"/alert-orders/{order_id}/units/{self.school_a.pk}/measures/{measure.pk}/confirm"
        first = self.api(self.principal_a).post(url, {"note": "已落实"})
        self.assertEqual(first.status_code, 200, first.content)
        self.assertEqual((first.json()["created"], first.json()["confirmed"]), (True, 1))
        again = self.api(self.principal_a).post(url, {})
        self.assertEqual((again.json()["created"], again.json()["confirmed"]), (False, 1))
        self.assertEqual(self.api(self.principal_b).post(url, {}).status_code, 404)
        self.assertEqual(self.api(self.officer).post(url, {}).status_code, 403)
        pending = self.api(self.officer).get(f"/alert-orders/{order_id}/pending?limit=2")
        self.assertEqual(len(pending.json()), 2)
        after = pending.json()[-1]["path"]
        rest = self.api(self.officer).get(f"/alert-orders/{order_id}/pending?after={after}").json()
        self.assertEqual(len(rest), 2)
        self.assertEqual(
            self.api(self.principal_a).get(f"/alert-orders/{order_id}/pending").status_code, 403
        )
        chased = self.api(self.officer).post(f"/alert-orders/{order_id}/chase", {})
        self.assertEqual(chased.json(), {"units_reminded": 4})
        ack = self.api(self.duty_b).post(
            f"/alert-orders/{order_id}/units/{self.school_b.pk}/acknowledge", {}
        )
        self.assertIsNotNone(ack.json()["acknowledged_at"])
        self.assertTrue(OrderUnit.objects.get(order=order, unit=self.school_b).acknowledged_at)
        ended = self.api(self.officer).post(f"/alert-orders/{order_id}/end", {})
        self.assertIsNotNone(ended.json()["ended_early_at"])
        last = order.measures.last()
        ended_url = f"/alert-orders/{order_id}/units/{self.school_a.pk}/measures/{last.pk}/confirm"
        self.assertError(self.api(self.principal_a).post(ended_url, {}), 422, reason="has ended")

    def test_measures_of_a_bureau(self) -> None:
        got = self.api(self.principal_a).get(f"/alert-measures?unit_id={self.school_a.pk}").json()
        self.assertEqual([g["level"] for g in got], [2, 1])
        put = self.api(self.officer).put(
            "/alert-measures", {"unit_id": self.bureau.pk, "level": 1, "lines": ["全封闭管理"]}
        )
        self.assertEqual(put.json(), {"level": 1, "lines": ["全封闭管理"]})
        self.assertEqual(
            self.api(self.principal_a)
            .put("/alert-measures", {"unit_id": self.school_a.pk, "level": 1, "lines": ["x"]})
            .status_code,
            403,
        )
