"""What the incident tests share: school B (in 西山学区) has a day shift 08:00–18:00 on
NOON's day with duty_b on it and leader_b (its principal and head) leading; the bureau's
safety office is officer; 西山学区's head is group_head_2. Everyone has an e-mail address
(a channel beyond the app), but teacher_a."""

from safecampus.duty.tests.edge_base import NOON, DutyCase
from safecampus.orgs.models import Membership, Person, Role
from safecampus.test import make_person

__all__ = ["NOON", "IncidentCase"]


class IncidentCase(DutyCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.group_head_2 = make_person("group.head.2", "孙学区", "13900000021")
        Membership.objects.create(person=cls.group_head_2, unit=cls.group_2, role=Role.GROUP_HEAD)
        cls.group_2.head = cls.group_head_2
        cls.group_2.save()
        cls.safety_b = make_person("safety.b", "吴安全", "13900000022")
        Membership.objects.create(person=cls.safety_b, unit=cls.school_b, role=Role.SAFETY_OFFICER)
        for p in Person.objects.exclude(pk=cls.teacher_a.pk):
            p.email = f"{p.username}@example.edu.cn"
            p.save(update_fields=["email"])
