"""A warning notice's robot message: its title carries the 【预警】 tag once, never 【【预警】…】."""

from django.utils import translation

from safecampus.notices.models import NoticeKind
from safecampus.notify.models import Delivery, Transport, Urgency
from safecampus.notify.transports import headline
from safecampus.worker.loop import build_message

from .base import NoticeTestCase


class RobotTextTests(NoticeTestCase):
    def robot_text(self) -> str:
        delivery = Delivery.objects.get(transport=Transport.WEBHOOK, channel=self.robot_b)
        return build_message(delivery).text()

    def test_warning_title_is_tagged_once(self):
        with translation.override("zh-hans"):
            self.send(kind=NoticeKind.WARNING, title="寒潮预警", urgency=Urgency.URGENT)
        text = self.robot_text()
        self.assertTrue(text.startswith("【预警】寒潮预警\n"), text)
        self.assertNotIn("【【", text)
        self.assertNotIn("】】", text)

    def test_plain_notice_title_is_bracketed(self):
        with translation.override("zh-hans"):
            self.send(title="防溺水通知")
        self.assertTrue(self.robot_text().startswith("【防溺水通知】\n"))


def test_headline_brackets_a_title_once():
    assert headline("食堂检查") == "【食堂检查】"
    assert headline("【预警】寒潮") == "【预警】寒潮"
    assert headline(headline("食堂检查")) == "【食堂检查】"
    assert headline("  ") == ""
