"""Review of issue 13: the person pickers (a unit's head, an area's responsible person, a
leadership seat, a role) label each person with their username, which is often their
mobile number. A principal choosing the school's group leader among the bureau's people
must not read a number access.can_see_mobile does not let them see. (The picker masks
for everyone: the name tells people apart.)"""

from safecampus.orgs import services
from safecampus.orgs.models import Role
from safecampus.test import BaseTestCase

MOBILE = "13912345678"
MASKED = "139****5678"


class PickerMaskingTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # A bureau leader registered by mobile alone: the username is the number.
        self.leader = services.person_create(
            by=self.officer,
            unit=self.bureau,
            name="局长",
            mobile=MOBILE,
            roles=[Role.BUREAU_LEADER],
        )
        self.assertEqual(self.leader.username, MOBILE)

    def test_the_pickers_a_principal_opens_mask_the_number(self) -> None:
        client = self.client_for(self.principal_a)
        for url in [
            f"/orgs/units/{self.school_a.pk}/edit/",
            f"/orgs/units/{self.school_a.pk}/leadership/new/",
            f"/orgs/units/{self.school_a.pk}/areas/new/",
            f"/orgs/areas/{self.area_a.pk}/edit/",
        ]:
            with self.subTest(url=url):
                response = client.get(url)
                self.assertEqual(response.status_code, 200)
                html = response.content.decode()
                self.assertIn(f"局长（{MASKED}）", html)  # the person is offered, masked
                self.assertNotIn(MOBILE, html)
