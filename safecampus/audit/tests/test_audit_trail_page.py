"""The audit trail page shows entries in the reader's language, whatever their keys."""

from django.test import Client
from django.urls import reverse
from django.utils import translation

from safecampus.audit.models import AuditEntry
from safecampus.audit.selectors import trail_rows
from safecampus.audit.services import Actor, audit_record
from safecampus.orgs import services
from safecampus.orgs.models import Unit
from safecampus.test import BaseTestCase


def _report(items: list) -> AuditEntry:
    return audit_record(
        action="report",
        model="reports.dailyreport",
        object_id=1,
        object_repr="城关小学 2026-01-05",
        changes={"zero": not items, "items": items, "reason": "", "late_s": 0},
    )


class TrailPageTest(BaseTestCase):
    def _page(self, lang: str = "en", **params: str):
        client = Client(HTTP_ACCEPT_LANGUAGE=lang)
        client.force_login(self.auditadmin)
        with translation.override(lang):
            return client.get(reverse("audit:trail"), params)

    def test_a_field_named_items_is_its_value_whatever_its_length(self):
        # One or three items made the page a 500 (the template took dict.items for the
        # key); two were shown as if they were an old and a new value.
        for n in (0, 1, 2, 3):
            _report([{"what": f"事件{i}", "measures": f"措施{i}"} for i in range(n)])
        response = self._page()
        self.assertEqual(response.status_code, 200)
        rows = {
            len(r.entry.changes["items"]): r
            for r in response.context["rows"]
            if r.entry.model == "reports.dailyreport"
        }
        for n in (1, 2, 3):
            items = next(c for c in rows[n].changes if c.label == "items")
            self.assertFalse(items.changed)
            for i in range(n):
                self.assertIn(
                    f"{i + 1}. what happened: 事件{i}; measures taken: 措施{i}", items.new
                )
        self.assertContains(response, "事件2")

    def test_codes_and_python_values_are_words(self):
        services.unit_update(by=self.officer, unit=self.school_a, head=self.principal_a)
        audit_record(
            action="login_failed",
            changes={"username": "nobody"},
            actor=Actor(id=None, label="anonymous", ip="10.0.0.9"),
        )
        for lang, words in (
            ("en", ["failed login", "someone not logged in", "unit", "王校长 (#"]),
            ("zh-hans", ["登录失败", "单位", "王校长 (#"]),
        ):
            with self.subTest(lang=lang):
                response = self._page(lang)
                text = response.content.decode()
                for word in words:
                    self.assertIn(word, text)
                for raw in ("login_failed", "orgs.unit", "None", "[None", "head_id"):
                    self.assertNotIn(f">{raw}", text)
                    self.assertNotIn(f"{raw}:", text)

    def test_rows_read_field_names_choices_and_nothing(self):
        entry = audit_record(
            action="update",
            model="orgs.unit",
            object_id=self.school_a.pk,
            changes={
                "head_id": [None, self.principal_a.pk],
                "kind": ["school", "kindergarten"],
                "phone": ["", "0571-1"],
                "gone_field": ["a", "b"],
            },
        )
        with translation.override("en"):
            (row,) = trail_rows([entry])
            head, kind, phone = (
                str(Unit._meta.get_field(name).verbose_name) for name in ("head", "kind", "phone")
            )
        self.assertEqual(row.action, "changed")
        self.assertEqual(row.record_type, "unit")
        by_label = {c.label: c for c in row.changes}
        self.assertEqual(by_label[head].old, "—")
        self.assertEqual(by_label[head].new, f"王校长 (#{self.principal_a.pk})")
        self.assertEqual(by_label[kind].new, "Kindergarten")
        self.assertEqual(by_label[phone].old, "—")
        # A key that is no longer a field: shown as recorded, not split into old and new.
        self.assertEqual(by_label["gone_field"].new, "a、b")

    def test_names_of_a_page_come_in_one_query_per_model(self):
        for _i in range(5):
            services.unit_update(by=self.officer, unit=self.school_a, head=self.teacher_a)
            services.unit_update(by=self.officer, unit=self.school_a, head=self.principal_a)
        entries = list(AuditEntry.objects.filter(model="orgs.unit"))
        with self.assertNumQueries(1):
            trail_rows(entries)

    def test_filters_by_record_type_and_action(self):
        _report([])
        audit_record(action="login_failed", changes={"username": "x"})
        response = self._page(model="reports.dailyreport")
        self.assertEqual({r.entry.model for r in response.context["rows"]}, {"reports.dailyreport"})
        response = self._page(action="login_failed")
        self.assertEqual({r.entry.action for r in response.context["rows"]}, {"login_failed"})

    def test_mobile_numbers_and_tree_bookkeeping_are_not_shown(self):
        audit_record(
            action="login_failed",
            changes={"username": "13900006054"},
            actor=Actor(id=None, label="anonymous"),
        )
        response = self._page()
        self.assertContains(response, "139****6054")
        self.assertNotContains(response, "13900006054")
        self.assertNotContains(response, "13900000001")  # the officer's, in his creation
        self.assertNotContains(response, "numchild")
