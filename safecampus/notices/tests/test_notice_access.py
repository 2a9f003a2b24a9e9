"""Attachments are served only through an access check; B sees nothing of A's notices."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from safecampus.notices.models import NoticeAttachment

from .base import NoticeTestCase


def pdf(name: str = "方案.pdf", size: int = 1000) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF" + b"x" * (size - 4), content_type="application/pdf")


class NoticeAccessTest(NoticeTestCase):
    def test_attachment_is_stored_privately_and_served_to_those_who_see_the_notice(self):
        notice = self.send(attachments=[pdf()])
        item = NoticeAttachment.objects.get(notice=notice)
        self.assertTrue(item.file.name.startswith("notices/"))
        self.assertNotIn("方案", item.file.name)
        url = reverse("notices:attachment", args=[notice.pk, item.pk])
        for person in (self.officer, self.duty_b, self.teacher_a):
            response = self.client_for(person).get(url)
            self.assertEqual(response.status_code, 200, person)
            self.assertIn("attachment;", response["Content-Disposition"])
            self.assertEqual(b"".join(response.streaming_content)[:4], b"%PDF")
        self.assertEqual(self.client.get(url).status_code, 302)  # to the login page

    def test_b_cannot_see_a(self):
        notice = self.send(by=self.principal_a, unit=self.school_a, attachments=[pdf()])
        self.assertEqual(list(notice.receipts.values_list("unit", flat=True)), [self.dept_a.pk])
        item = notice.attachments.get()
        duty = self.client_for(self.duty_b)
        for url, method in [
            (reverse("notices:detail", args=[notice.pk]), "get"),
            (reverse("notices:attachment", args=[notice.pk, item.pk]), "get"),
            (reverse("notices:ack", args=[notice.pk]), "post"),
            (reverse("notices:chase", args=[notice.pk]), "post"),
        ]:
            response = getattr(duty, method)(url, {"unit": self.dept_a.pk})
            self.assertEqual(response.status_code, 404, url)
        self.assertNotContains(duty.get(reverse("notices:inbox")), notice.title)
        # The attachment's number under another notice B can see is no way in.
        seen_by_b = self.send()
        response = duty.get(reverse("notices:attachment", args=[seen_by_b.pk, item.pk]))
        self.assertEqual(response.status_code, 404)
        # Those in A's subtree and above see it.
        for person in (self.principal_a, self.teacher_a, self.officer):
            response = self.client_for(person).get(reverse("notices:detail", args=[notice.pk]))
            self.assertEqual(response.status_code, 200, person)

    def test_recipients_see_only_receipts_of_units_they_see(self):
        notice = self.send(requires_ack=True)
        page = self.client_for(self.duty_b).get(reverse("notices:detail", args=[notice.pk]))
        self.assertContains(page, notice.title)
        self.assertNotContains(page, self.school_a.name)
        self.assertNotContains(page, 'data-testid="chase"')
        self.assertNotContains(page, 'data-testid="tracking"')

    def test_failed_send_leaves_no_file_behind(self):
        from pathlib import Path
        from unittest import mock

        from django.conf import settings

        from safecampus.notices import services
        from safecampus.notices.models import Notice

        with (
            mock.patch.object(services, "_notify_receipts", side_effect=RuntimeError("down")),
            self.assertRaises(RuntimeError),
        ):
            self.send(attachments=[pdf()])
        self.assertFalse(Notice.objects.exists())
        self.assertEqual(list(Path(settings.MEDIA_ROOT).rglob("*.pdf")), [])

    def test_template_pages(self):
        response = self.client_for(self.duty_b).get(reverse("notices:templates"))
        self.assertContains(response, "防溺水")
        self.assertNotContains(response, "/edit/")
        response = self.client_for(self.officer).get(reverse("notices:templates"))
        self.assertContains(response, "/edit/", count=5)
