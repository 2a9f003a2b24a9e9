"""Review 13, finding 8: small leaks beside masking.

- /admin/admins/ (the security administrator's page) listed administrators' usernames in
  full, a mobile number the security administrator may not see; /admin/accounts/ did the
  same for administrators' accounts to the system administrator, and its search matched
  the full number.
- The audit page's actor filter matched the stored actor exactly, so the audit
  administrator could type full numbers and learn which masked actor a number belongs to.
Now each page shows and searches what the user may see."""

from django.utils import translation

from safecampus.audit.services import Actor, audit_record
from safecampus.orgs.models import AdminRole
from safecampus.test import BaseTestCase, make_person

NUMBER = "13900006054"
TWIN = "13911116054"  # shown the same: 139****6054


class AdminPagesMaskingTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.by_mobile = make_person(NUMBER, "审计员二", NUMBER, admin_role="")
        self.by_mobile.admin_role = AdminRole.AUDIT
        self.auditadmin.admin_role = ""
        self.auditadmin.save()
        self.by_mobile.save()

    def test_the_security_administrator_sees_administrators_masked(self) -> None:
        page = self.client_for(self.secadmin).get("/admin/admins/")
        self.assertNotContains(page, NUMBER)
        self.assertContains(page, "139****6054")

    def test_the_accounts_page_masks_and_searches_what_it_shows(self) -> None:
        client = self.client_for(self.sysadmin)
        page = client.get("/admin/accounts/")
        self.assertNotContains(page, NUMBER)
        self.assertContains(page, "139****6054")
        # A full number typed finds nothing the page does not show.
        self.assertNotContains(client.get("/admin/accounts/", {"q": NUMBER}), "审计员二")
        self.assertContains(client.get("/admin/accounts/", {"q": "6054"}), "审计员二")
        # An ordinary account's number the system administrator may see, as before.
        person = make_person(TWIN, "普通教师", TWIN)
        self.assertContains(client.get("/admin/accounts/", {"q": TWIN}), person.name)


class AuditActorFilterTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        audit_record(action="test", actor=Actor(id=None, label=NUMBER), changes={"who": 1})
        audit_record(action="test", actor=Actor(id=None, label=TWIN), changes={"who": 2})

    def shown(self, actor: str) -> list[int]:
        with translation.override("en"):
            page = self.client_for(self.auditadmin).get(
                "/audit/", {"actor": actor, "action": "test"}
            )
        self.assertEqual(page.status_code, 200)
        self.assertTrue(all(row.actor == "139****6054" for row in page.context["rows"]))
        return sorted(row.entry.changes["who"] for row in page.context["rows"])

    def test_a_full_number_confirms_nothing_the_page_does_not_show(self) -> None:
        # Before: exactly the entries of 13900006054, telling it apart from its twin.
        self.assertEqual(self.shown(NUMBER), [1, 2])
        self.assertEqual(self.shown(TWIN), [1, 2])

    def test_the_actor_as_shown_finds_it(self) -> None:
        self.assertEqual(self.shown("139****6054"), [1, 2])
        self.assertEqual(self.shown("139****6055"), [])
        self.assertEqual(self.shown(self.sysadmin.username), [])
