"""The page header and the home page show the user's unread inbox messages
(notify/context_processors.py), to that user only."""

from django.urls import reverse
from django.utils import timezone

from safecampus.notify.models import Delivery, Transport
from safecampus.notify.services import notification_create
from safecampus.test import BaseTestCase


class InboxCountTest(BaseTestCase):
    def _tell(self, person, n):
        for i in range(n):
            notification_create(
                event="test", title=f"Message {i}", body="…", people=[person], inbox_only=True
            )

    def test_the_header_and_home_count_the_unread_messages(self):
        self._tell(self.principal_a, 3)
        self._tell(self.teacher_a, 1)
        response = self.client_for(self.principal_a).get(reverse("home"))
        self.assertEqual(response.context["inbox_unread"], 3)
        self.assertContains(response, " (3)</a>")
        first = Delivery.objects.filter(person=self.principal_a, transport=Transport.INBOX)[:1]
        Delivery.objects.filter(pk__in=list(first.values_list("pk", flat=True))).update(
            read_at=timezone.now()
        )
        response = self.client_for(self.principal_a).get(reverse("home"))
        self.assertEqual(response.context["inbox_unread"], 2)
        self.assertContains(response, " (2)</a>")

    def test_nobody_else_s_messages_are_counted(self):
        self._tell(self.principal_a, 2)
        response = self.client_for(self.duty_b).get(reverse("home"))
        self.assertEqual(response.context["inbox_unread"], 0)
        self.assertNotContains(response, " (2)</a>")

    def test_a_page_without_a_user_counts_nothing(self):
        response = self.client.get(reverse("login"))
        self.assertNotIn("inbox_unread", response.context)
