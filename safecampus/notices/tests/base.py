"""Notices tests: the persona district, with a department under school A and contacts named."""

import datetime as dt
import shutil
import tempfile
from typing import Any

from django.test import override_settings
from django.utils import timezone

from safecampus.notices import services
from safecampus.notices.models import Notice
from safecampus.notify.models import Channel
from safecampus.orgs.models import Person, UnitKind
from safecampus.test import BaseTestCase, make_person, make_unit


class NoticeTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.school_a.refresh_from_db()
        cls.dept_a = make_unit(cls.school_a, "SA-1", "一年级组", UnitKind.DEPARTMENT)
        cls.group_2.refresh_from_db()
        cls.kinder_b = make_unit(cls.group_2, "KB", "西山幼儿园", UnitKind.KINDERGARTEN)
        cls.office_b = make_person("office.b", "赵办公室", "13900000009")
        for unit, head, office in [
            (cls.school_a, cls.principal_a, cls.teacher_a),
            (cls.school_b, None, cls.duty_b),
            (cls.kinder_b, None, cls.office_b),
        ]:
            unit.refresh_from_db()
            unit.head, unit.office_contact = head, office
            unit.save()
        cls.bureau.refresh_from_db()
        cls.bureau.office_contact = cls.officer
        cls.bureau.save()
        cls.robot_b = Channel.objects.create(
            unit=cls.school_b, kind="webhook", name="西山值班群", config={"url": "http://x/"}
        )
        Channel.objects.create(
            unit=cls.school_b, kind="webhook", name="停用的群", config={}, enabled=False
        )

    def setUp(self) -> None:
        super().setUp()
        for unit in (self.dept_a, self.kinder_b):
            unit.refresh_from_db()
        media = tempfile.mkdtemp(prefix="notices-test-")
        self.addCleanup(shutil.rmtree, media, ignore_errors=True)
        media_settings = override_settings(MEDIA_ROOT=media)
        media_settings.enable()
        self.addCleanup(media_settings.disable)

    def send(self, by: Person | None = None, **kwargs: Any) -> Notice:
        fields: dict[str, Any] = {
            "by": by or self.officer,
            "unit": self.bureau,
            "title": "关于做好防溺水工作的通知",
            "body": "各学校：请落实防溺水“六不”要求。",
        }
        fields.update(kwargs)
        return services.notice_send(**fields)

    def soon(self, hours: int = 24) -> dt.datetime:
        return timezone.now() + dt.timedelta(hours=hours)
