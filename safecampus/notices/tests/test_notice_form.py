"""The compose form: bad input keeps what was typed; templates seeded, editable, usable."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from safecampus.notices.models import Notice, NoticeTemplate
from safecampus.notify.models import Urgency

from .base import NoticeTestCase


class NoticeFormTest(NoticeTestCase):
    def _post(self, client, **extra):
        data = {
            "unit": self.bureau.pk,
            "kind": "warning",
            "title": "汛期安全预警",
            "body": "请加强值班。",
            "urgency": Urgency.URGENT,
            "requires_ack": "on",
            "ack_deadline": "2099-07-01T17:00",
            "recipient_kinds": ["school"],
        }
        data.update(extra)
        return client.post(reverse("notices:new"), data)

    def test_file_too_big_keeps_what_was_typed(self):
        big = SimpleUploadedFile("大文件.pdf", b"x" * (10 * 1024 * 1024 + 1))
        response = self._post(self.client_for(self.officer), attachments=[big])
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "is larger than 10 MB")
        self.assertContains(response, "Choose the files again")
        self.assertContains(response, 'value="汛期安全预警"')
        self.assertContains(response, "请加强值班。")
        self.assertContains(response, 'value="2099-07-01T17:00"')
        self.assertContains(response, 'value="school" id="id_recipient_kinds_1" checked')
        self.assertFalse(Notice.objects.exists())

    def test_wrong_kind_of_file_and_past_deadline_are_refused(self):
        exe = SimpleUploadedFile("run.exe", b"MZ")
        response = self._post(self.client_for(self.officer), attachments=[exe])
        self.assertContains(response, "this kind of file cannot be attached")
        response = self._post(self.client_for(self.officer), ack_deadline="2020-01-01T08:00")
        self.assertContains(response, "The deadline must be in the future.")
        self.assertContains(response, 'value="汛期安全预警"')
        self.assertFalse(Notice.objects.exists())

    def test_send_from_the_form(self):
        response = self._post(
            self.client_for(self.officer), attachments=[SimpleUploadedFile("a.docx", b"PK")]
        )
        notice = Notice.objects.get()
        self.assertRedirects(response, reverse("notices:detail", args=[notice.pk]))
        self.assertEqual(notice.receipts.count(), 2)
        self.assertEqual(notice.attachments.get().name, "a.docx")

    def test_only_managers_compose(self):
        self.assertEqual(self.client_for(self.duty_b).get(reverse("notices:new")).status_code, 403)
        response = self.client_for(self.principal_a).get(reverse("notices:new"))
        self.assertContains(response, self.school_a.name)
        self.assertNotContains(response, self.bureau.name + "</option>")

    def test_templates_are_seeded_and_start_the_form(self):
        names = list(NoticeTemplate.objects.values_list("name", flat=True))
        self.assertEqual(names, ["防溺水", "汛期", "高温", "寒潮", "节假日安全"])
        for template in NoticeTemplate.objects.all():
            self.assertGreaterEqual(template.body.count("\n\n"), 3, template.name)
        heat = NoticeTemplate.objects.get(code="heat")
        response = self.client_for(self.officer).get(reverse("notices:new"), {"template": heat.pk})
        self.assertContains(response, heat.title)
        self.assertContains(response, "高温时段")

    def test_templates_are_editable_by_the_bureau_only(self):
        drowning = NoticeTemplate.objects.get(code="drowning")
        url = reverse("notices:template-edit", args=[drowning.pk])
        self.assertEqual(self.client_for(self.principal_a).get(url).status_code, 403)
        response = self.client_for(self.officer).post(
            url,
            {
                "name": "防溺水",
                "kind": "warning",
                "title": "新标题",
                "body": "新正文",
                "urgency": Urgency.EMERGENCY,
                "requires_ack": "on",
            },
        )
        self.assertRedirects(response, reverse("notices:templates"))
        drowning.refresh_from_db()
        self.assertEqual((drowning.title, drowning.urgency), ("新标题", Urgency.EMERGENCY))
