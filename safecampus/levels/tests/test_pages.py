"""Alert-level pages: issuing (the form keeps what was typed on a refusal), the banner on every
page of a unit under an order, a school confirming with HTMX, the issuer's live progress and
chase, a bureau's measures; other units see nothing of a school's checklist."""

from django.urls import reverse

from safecampus.levels.models import AlertOrder, Check, Level, OrderUnit

from .test_services import DAY, HOUR, LevelCase


def local(value) -> str:  # noqa: ANN001
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


class IssuePageTests(LevelCase):
    def test_issue_from_the_form_then_the_order_page(self) -> None:
        client = self.client_for(self.officer)
        page = client.get(reverse("levels:order-new"))
        self.assertContains(page, 'data-testid="order-form"')
        response = client.post(
            reverse("levels:order-new"),
            {
                "unit": self.bureau.pk,
                "level": Level.ENHANCED,
                "starts_at": local(self.now - HOUR),
                "ends_at": local(self.now + 7 * DAY),
                "reason": "期末考试周",
            },
        )
        order = AlertOrder.objects.get()
        self.assertRedirects(response, reverse("levels:order", args=[order.pk]))
        page = client.get(reverse("levels:order", args=[order.pk]))
        self.assertContains(page, "期末考试周")
        self.assertContains(page, 'data-testid="pending"')
        self.assertContains(page, self.school_b.name)
        self.assertContains(page, 'data-testid="chase"')

    def test_a_refused_order_keeps_what_was_typed(self) -> None:
        client = self.client_for(self.officer)
        response = client.post(
            reverse("levels:order-new"),
            {
                "unit": self.bureau.pk,
                "level": Level.ENHANCED,
                "starts_at": local(self.now + DAY),
                "ends_at": local(self.now),
                "reason": "寒假前安全大检查",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "before it starts")
        self.assertContains(response, "寒假前安全大检查")
        self.assertFalse(AlertOrder.objects.exists())

    def test_below_the_parent_is_refused_on_the_form(self) -> None:
        self.issue(level=Level.EXTRAORDINARY)
        response = self.client_for(self.principal_a).post(
            reverse("levels:order-new"),
            {
                "unit": self.school_a.pk,
                "level": Level.ENHANCED,
                "starts_at": local(self.now),
                "ends_at": local(self.now + DAY),
                "reason": "本校加强",
            },
        )
        self.assertContains(response, "never go below its parent")
        self.assertEqual(AlertOrder.objects.count(), 1)

    def test_duty_staff_cannot_issue(self) -> None:
        self.assertEqual(
            self.client_for(self.duty_b).get(reverse("levels:order-new")).status_code, 404
        )


class UnitPageTests(LevelCase):
    def setUp(self) -> None:
        super().setUp()
        self.order = self.issue(level=Level.EXTRAORDINARY)
        self.row = OrderUnit.objects.get(order=self.order, unit=self.school_a)
        self.url = reverse("levels:unit", args=[self.order.pk, self.school_a.pk])

    def test_the_banner_shows_on_every_page_of_the_units_under_it(self) -> None:
        for person in (self.principal_a, self.duty_b, self.officer):
            page = self.client_for(person).get(reverse("home"))
            self.assertContains(page, 'data-testid="alert-banner"', msg_prefix=person.username)
            self.assertContains(page, "Level 1")
        self.order.revoked_at = self.now
        self.order.save()
        page = self.client_for(self.principal_a).get(reverse("home"))
        self.assertNotContains(page, 'data-testid="alert-banner"')

    def test_home_lists_the_order_to_confirm(self) -> None:
        page = self.client_for(self.principal_a).get(reverse("home"))
        self.assertContains(page, 'data-testid="order-to-confirm"')
        self.assertContains(page, self.url)

    def test_acknowledge_and_confirm_with_htmx(self) -> None:
        client = self.client_for(self.principal_a)
        client.post(reverse("levels:acknowledge", args=[self.order.pk, self.school_a.pk]))
        measure = self.order.measures.exclude(auto_check=Check.DUTY_LEADER).first()
        confirm = reverse("levels:confirm", args=[self.order.pk, self.school_a.pk, measure.pk])
        response = client.post(confirm, HTTP_HX_REQUEST="true")
        self.assertContains(response, f'data-testid="confirmed-{measure.position}"')
        self.assertNotContains(response, "<html")
        client.post(confirm, HTTP_HX_REQUEST="true")  # twice: once
        self.row.refresh_from_db()
        self.assertEqual(self.row.confirmed, 1)
        self.assertIsNotNone(self.row.acknowledged_at)

    def test_the_roster_measure_shows_why_it_is_refused(self) -> None:
        from safecampus.duty.models import CoverageGap, GapKind

        CoverageGap.objects.create(
            unit=self.school_a,
            path=self.school_a.path,
            kind=GapKind.NOBODY,
            starts_at=self.now + HOUR,
            ends_at=self.now + 3 * HOUR,
            seconds=7200,
            scanned_at=self.now,
        )
        client = self.client_for(self.principal_a)
        self.assertContains(client.get(self.url), 'data-testid="gaps"')
        roster = self.order.measures.get(auto_check=Check.DUTY_LEADER)
        confirm = reverse("levels:confirm", args=[self.order.pk, self.school_a.pk, roster.pk])
        response = client.post(confirm, HTTP_HX_REQUEST="true")
        self.assertContains(response, 'data-testid="error-1"')
        self.assertContains(response, "Nobody on duty")

    def test_other_schools_do_not_see_it_and_the_bureau_cannot_confirm(self) -> None:
        self.assertEqual(self.client_for(self.principal_b).get(self.url).status_code, 404)
        measure = self.order.measures.last()
        confirm = reverse("levels:confirm", args=[self.order.pk, self.school_a.pk, measure.pk])
        self.assertEqual(self.client_for(self.principal_b).post(confirm).status_code, 404)
        page = self.client_for(self.officer).get(self.url)
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'data-testid="confirm-')
        self.assertEqual(self.client_for(self.officer).post(confirm).status_code, 403)

    def test_the_issuer_sees_progress_live_and_chases(self) -> None:
        client = self.client_for(self.officer)
        partial = client.get(
            reverse("levels:progress", args=[self.order.pk]), HTTP_HX_REQUEST="true"
        )
        self.assertContains(partial, 'data-testid="progress-text"')
        self.assertContains(partial, "0 of 4 units")
        self.assertNotContains(partial, "<html")
        response = client.post(reverse("levels:chase", args=[self.order.pk]), follow=True)
        self.assertContains(response, "Reminded 4 units")
        # A school sees the order but not the list of the others, and cannot chase.
        school = self.client_for(self.principal_a).get(
            reverse("levels:order", args=[self.order.pk])
        )
        self.assertNotContains(school, 'data-testid="pending"')
        self.assertNotContains(school, 'data-testid="chase"')
        self.assertEqual(
            self.client_for(self.principal_a)
            .post(reverse("levels:chase", args=[self.order.pk]))
            .status_code,
            403,
        )
        self.assertEqual(OrderUnit.objects.filter(chased_at__isnull=False).count(), 4)


class MeasuresPageTests(LevelCase):
    def test_the_bureau_edits_a_levels_list(self) -> None:
        client = self.client_for(self.officer)
        page = client.get(reverse("levels:measures"))
        self.assertContains(page, "校门实行封闭管理")
        response = client.post(
            reverse("levels:measures"), {"level": 2, "l2-lines": "门卫24小时值守\n巡逻每小时一次"}
        )
        self.assertRedirects(response, reverse("levels:measures"))
        self.assertContains(client.get(reverse("levels:measures")), "巡逻每小时一次")
        self.assertEqual(
            self.client_for(self.principal_a).get(reverse("levels:measures")).status_code, 404
        )
