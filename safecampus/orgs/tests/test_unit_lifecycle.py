"""A unit's life: created, edited, moved, archived and restored; deleted only without history."""

from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from safecampus.audit.models import AuditEntry
from safecampus.orgs import services
from safecampus.orgs.models import (
    AdminRole,
    Area,
    AreaKind,
    LeadershipSeat,
    Membership,
    Position,
    Role,
    Unit,
    UnitKind,
)
from safecampus.test import BaseTestCase

HISTORY = "has history and cannot be deleted; archive it instead"


class LifecycleTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def fresh_school(self, code: str = "S-NEW", parent: Unit | None = None) -> Unit:
        return services.unit_create(
            by=self.officer,
            parent=parent or self.group_1,
            code=code,
            name="新建小学",
            kind=UnitKind.SCHOOL,
        )

    def messages_of(self, response) -> list[str]:
        return [str(m) for m in get_messages(response.wsgi_request)]


class DeleteTest(LifecycleTestCase):
    def test_fresh_empty_unit_can_be_deleted(self):
        unit = self.fresh_school()
        self.group_1.refresh_from_db()
        self.assertEqual(self.group_1.numchild, 2)
        services.unit_delete(by=self.officer, unit=unit)
        self.assertFalse(Unit.objects.filter(code="S-NEW").exists())
        self.group_1.refresh_from_db()
        self.assertEqual(self.group_1.numchild, 1)
        self.assertTrue(
            AuditEntry.objects.filter(
                model="orgs.unit", action="delete", object_id=str(unit.pk)
            ).exists()
        )

    def assert_delete_refused(self, unit: Unit) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.unit_delete(by=self.officer, unit=unit)
        self.assertIn(HISTORY, " ".join(caught.exception.messages))
        self.assertTrue(Unit.objects.filter(pk=unit.pk).exists())

    def test_unit_with_children_is_refused(self):
        self.assert_delete_refused(self.group_1)
        unit = self.fresh_school()
        services.unit_create(
            by=self.officer, parent=unit, code="S-NEW-1", name="教务处", kind=UnitKind.DEPARTMENT
        )
        unit.refresh_from_db()
        self.assert_delete_refused(unit)

    def test_unit_with_an_area_is_refused(self):
        unit = self.fresh_school()
        Area.objects.create(unit=unit, name="操场", kind=AreaKind.SPORTS)
        self.assert_delete_refused(unit)

    def test_unit_with_people_is_refused(self):
        unit = self.fresh_school()
        services.person_create(by=self.officer, unit=unit, name="新老师", mobile="13800000101")
        self.assert_delete_refused(unit)

    def test_unit_with_a_leadership_seat_is_refused(self):
        unit = self.fresh_school()
        LeadershipSeat.objects.create(unit=unit, person=self.officer, position=Position.MEMBER)
        self.assert_delete_refused(unit)

    def test_unit_changed_after_creation_is_refused(self):
        unit = self.fresh_school()
        services.unit_update(by=self.officer, unit=unit, name="改名小学")
        self.assert_delete_refused(unit)

    def test_moved_unit_is_refused(self):
        unit = self.fresh_school()
        services.unit_move(by=self.officer, unit=unit, new_parent=self.group_2)
        self.assert_delete_refused(unit)

    def test_principal_cannot_delete_outside_their_school(self):
        unit = self.fresh_school(parent=self.group_2)
        with self.assertRaises(PermissionDenied):
            services.unit_delete(by=self.principal_a, unit=unit)
        self.assertTrue(Unit.objects.filter(pk=unit.pk).exists())

    def test_delete_page_refuses_with_history_and_offers_archive(self):
        client = self.client_for(self.officer)
        response = client.post(reverse("orgs:unit-delete", args=[self.school_a.pk]))
        self.assertRedirects(
            response, reverse("orgs:unit", args=[self.school_a.pk]), fetch_redirect_response=False
        )
        self.assertTrue(any(HISTORY in m for m in self.messages_of(response)))
        self.assertTrue(Unit.objects.filter(pk=self.school_a.pk).exists())
        page = client.get(reverse("orgs:unit", args=[self.school_a.pk]))
        self.assertContains(page, reverse("orgs:unit-archive", args=[self.school_a.pk]))

    def test_delete_page_deletes_a_fresh_unit(self):
        unit = self.fresh_school()
        response = self.client_for(self.officer).post(reverse("orgs:unit-delete", args=[unit.pk]))
        self.assertRedirects(
            response, reverse("orgs:unit", args=[self.group_1.pk]), fetch_redirect_response=False
        )
        self.assertFalse(Unit.objects.filter(pk=unit.pk).exists())

    def test_delete_page_answers_404_for_an_invisible_unit(self):
        unit = self.fresh_school(parent=self.group_2)
        response = self.client_for(self.principal_a).post(
            reverse("orgs:unit-delete", args=[unit.pk])
        )
        self.assertEqual(response.status_code, 404)
        self.assertTrue(Unit.objects.filter(pk=unit.pk).exists())


class ArchiveTest(LifecycleTestCase):
    def test_archive_refused_while_children_are_active(self):
        with self.assertRaisesMessage(ValidationError, "Archive the units under it first."):
            services.unit_archive(by=self.officer, unit=self.group_1)
        self.group_1.refresh_from_db()
        self.assertIsNone(self.group_1.archived_at)

    def test_archive_bottom_up_then_restore_top_down(self):
        services.unit_archive(by=self.officer, unit=self.school_a)
        self.group_1.refresh_from_db()
        services.unit_archive(by=self.officer, unit=self.group_1)
        self.school_a.refresh_from_db()
        self.assertTrue(self.school_a.is_archived)
        self.assertTrue(self.group_1.is_archived)
        with self.assertRaisesMessage(ValidationError, "Restore the unit above it first."):
            services.unit_restore(by=self.officer, unit=self.school_a)
        services.unit_restore(by=self.officer, unit=self.group_1)
        self.school_a.refresh_from_db()
        services.unit_restore(by=self.officer, unit=self.school_a)
        self.school_a.refresh_from_db()
        self.assertFalse(self.school_a.is_archived)

    def test_no_children_can_be_added_under_an_archived_unit(self):
        services.unit_archive(by=self.officer, unit=self.school_a)
        with self.assertRaises(ValidationError):
            services.unit_create(
                by=self.officer,
                parent=self.school_a,
                code="SA-D",
                name="部门",
                kind=UnitKind.DEPARTMENT,
            )
        unit = self.fresh_school(parent=self.group_2)
        with self.assertRaisesMessage(ValidationError, "archived"):
            services.unit_move(by=self.officer, unit=unit, new_parent=self.school_a)

    def test_archive_page_shows_the_refusal(self):
        client = self.client_for(self.officer)
        response = client.post(reverse("orgs:unit-archive", args=[self.group_1.pk]))
        self.assertEqual(response.status_code, 302)
        self.assertIn("Archive the units under it first.", self.messages_of(response))
        self.group_1.refresh_from_db()
        self.assertIsNone(self.group_1.archived_at)
        response = client.post(reverse("orgs:unit-archive", args=[self.school_b.pk]))
        self.school_b.refresh_from_db()
        self.assertTrue(self.school_b.is_archived)

    def test_duty_b_cannot_archive_their_school_nor_see_a(self):
        client = self.client_for(self.duty_b)
        response = client.post(reverse("orgs:unit-archive", args=[self.school_b.pk]))
        self.assertEqual(response.status_code, 403)
        response = client.post(reverse("orgs:unit-archive", args=[self.school_a.pk]))
        self.assertEqual(response.status_code, 404)
        self.school_a.refresh_from_db()
        self.school_b.refresh_from_db()
        self.assertFalse(self.school_a.is_archived or self.school_b.is_archived)


class MoveTest(LifecycleTestCase):
    def test_move_under_own_descendant_is_refused(self):
        for target in (self.school_a, self.group_1):
            with (
                self.subTest(target=target.code),
                self.assertRaisesMessage(ValidationError, "cannot be moved under itself"),
            ):
                services.unit_move(by=self.officer, unit=self.group_1, new_parent=target)
        self.school_a.refresh_from_db()
        self.assertEqual(Unit.objects.get_parent(self.school_a), self.group_1)

    def test_move_keeps_kind_rules_and_the_root(self):
        with self.assertRaisesMessage(ValidationError, "cannot be placed under"):
            services.unit_move(by=self.officer, unit=self.school_a, new_parent=self.school_b)
        other = services.unit_create(
            by=self.sysadmin, parent=None, code="330200", name="另一区教育局", kind=UnitKind.BUREAU
        )
        with self.assertRaisesMessage(ValidationError, "top of the tree"):
            services.unit_move(by=self.sysadmin, unit=self.bureau, new_parent=other)
        self.bureau.refresh_from_db()
        self.assertEqual(self.bureau.depth, 1)

    def test_move_a_school_to_another_group_with_its_subtree(self):
        dept = services.unit_create(
            by=self.officer,
            parent=self.school_a,
            code="SA-D",
            name="教务处",
            kind=UnitKind.DEPARTMENT,
        )
        services.unit_move(by=self.officer, unit=self.school_a, new_parent=self.group_2)
        self.school_a.refresh_from_db()
        dept.refresh_from_db()
        self.assertEqual(Unit.objects.get_parent(self.school_a), self.group_2)
        self.assertEqual(Unit.objects.get_parent(dept), self.school_a)
        self.assertTrue(dept.path.startswith(self.school_a.path))
        entry = AuditEntry.objects.get(model="orgs.unit", action="move")
        self.assertEqual(entry.changes, {"parent": ["G1", "G2"]})

    def test_principal_cannot_move_a_unit_out_of_their_reach(self):
        with self.assertRaises(PermissionDenied):
            services.unit_move(by=self.principal_a, unit=self.school_a, new_parent=self.group_2)

    def test_move_page_refuses_a_cycle_and_keeps_the_typed_code(self):
        response = self.client_for(self.officer).post(
            reverse("orgs:unit-move", args=[self.group_1.pk]), {"parent_code": "SA"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "cannot be moved under itself")
        self.assertContains(response, 'value="SA"')
        self.school_a.refresh_from_db()
        self.assertEqual(Unit.objects.get_parent(self.school_a), self.group_1)

    def test_move_page_does_not_reveal_units_outside_the_subtree(self):
        response = self.client_for(self.principal_a).post(
            reverse("orgs:unit-move", args=[self.school_a.pk]), {"parent_code": "G2"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Unknown unit code.")
        self.assertNotContains(response, self.group_2.name)


class KindRulesTest(LifecycleTestCase):
    def test_a_school_cannot_hold_a_group(self):
        with self.assertRaisesMessage(ValidationError, "cannot be placed under"):
            services.unit_create(
                by=self.officer, parent=self.school_a, code="GX", name="x", kind=UnitKind.GROUP
            )
        self.assertFalse(Unit.objects.filter(code="GX").exists())

    def test_only_a_bureau_at_the_root(self):
        with self.assertRaisesMessage(ValidationError, "Only a bureau"):
            services.unit_create(
                by=self.sysadmin, parent=None, code="SX", name="x", kind=UnitKind.SCHOOL
            )
        with self.assertRaisesMessage(ValidationError, "Only a bureau"):
            services.unit_update(by=self.officer, unit=self.bureau, kind=UnitKind.GROUP)
        root = services.unit_create(
            by=self.sysadmin, parent=None, code="330200", name="另一区教育局", kind=UnitKind.BUREAU
        )
        self.assertEqual(root.depth, 1)

    def test_only_the_sysadmin_adds_a_root(self):
        with self.assertRaises(PermissionDenied):
            services.unit_create(
                by=self.officer, parent=None, code="330200", name="x", kind=UnitKind.BUREAU
            )

    def test_a_kind_change_that_strands_children_is_refused(self):
        with self.assertRaisesMessage(ValidationError, "children could not stay"):
            services.unit_update(by=self.officer, unit=self.group_1, kind=UnitKind.SCHOOL)
        self.group_1.refresh_from_db()
        self.assertEqual(self.group_1.kind, UnitKind.GROUP)

    def test_unknown_kind(self):
        with self.assertRaisesMessage(ValidationError, "Unknown kind"):
            services.unit_create(
                by=self.officer, parent=self.group_1, code="SX", name="x", kind="university"
            )


class EditAccessTest(LifecycleTestCase):
    def form_data(self, unit: Unit, **changes: str) -> dict[str, str]:
        data = {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "address": unit.address,
            "phone": unit.phone,
            "head": "",
            "office_contact": "",
        }
        data.update(changes)
        return data

    def test_principal_edits_school_a(self):
        client = self.client_for(self.principal_a)
        url = reverse("orgs:unit-edit", args=[self.school_a.pk])
        self.assertEqual(client.get(url).status_code, 200)
        response = client.post(
            url,
            self.form_data(self.school_a, name="城关第一小学", head=str(self.principal_a.pk)),
        )
        self.assertRedirects(
            response, reverse("orgs:unit", args=[self.school_a.pk]), fetch_redirect_response=False
        )
        self.school_a.refresh_from_db()
        self.assertEqual(self.school_a.name, "城关第一小学")
        self.assertEqual(self.school_a.head, self.principal_a)

    def test_principal_gets_404_for_school_b_and_group_1(self):
        client = self.client_for(self.principal_a)
        for unit in (self.school_b, self.group_1, self.group_2, self.bureau):
            with self.subTest(unit=unit.code):
                url = reverse("orgs:unit-edit", args=[unit.pk])
                self.assertEqual(client.get(url).status_code, 404)
                self.assertEqual(client.post(url, self.form_data(unit, name="改")).status_code, 404)
        self.group_1.refresh_from_db()
        self.assertEqual(self.group_1.name, "城关学区")

    def test_visible_but_not_managed_gets_403(self):
        # teacher_a sees school A (a head teacher there) but does not manage it.
        client = self.client_for(self.teacher_a)
        url = reverse("orgs:unit-edit", args=[self.school_a.pk])
        self.assertEqual(client.get(url).status_code, 403)
        self.assertEqual(
            client.post(url, self.form_data(self.school_a, name="改")).status_code, 403
        )
        # duty_b sees school B only as duty staff.
        self.assertEqual(
            self.client_for(self.duty_b)
            .get(reverse("orgs:unit-edit", args=[self.school_b.pk]))
            .status_code,
            403,
        )
        self.school_a.refresh_from_db()
        self.assertEqual(self.school_a.name, "城关小学")

    def test_service_refuses_a_principal_on_group_1(self):
        with self.assertRaises(PermissionDenied):
            services.unit_update(by=self.principal_a, unit=self.group_1, name="改")

    def test_bad_input_is_kept_with_the_error(self):
        client = self.client_for(self.principal_a)
        url = reverse("orgs:unit-edit", args=[self.school_a.pk])
        # A code another unit already uses: refused by the service, the form keeps the input.
        response = client.post(
            url, self.form_data(self.school_a, code="SB", name="我改的名字", address="新地址9号")
        )
        self.assertEqual(response.status_code, 200)
        form = response.context["form"]
        self.assertIn("code", form.errors)
        self.assertContains(response, 'value="我改的名字"')
        self.assertContains(response, 'value="新地址9号"')
        # The page still names the unit as stored, not the refused name.
        self.assertContains(response, "<h1>Edit 城关小学</h1>", html=True)
        self.school_a.refresh_from_db()
        self.assertEqual((self.school_a.code, self.school_a.name), ("SA", "城关小学"))

        # An empty name: refused by the form, the rest is kept.
        response = client.post(url, self.form_data(self.school_a, name="", phone="0571-1234"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("name", response.context["form"].errors)
        self.assertContains(response, 'value="0571-1234"')

    def test_new_unit_form_keeps_input_on_error(self):
        client = self.client_for(self.officer)
        url = reverse("orgs:unit-new", args=[self.group_1.pk])
        response = client.post(
            url,
            {"code": "bad code!", "name": "新小学", "kind": UnitKind.SCHOOL, "address": "东路1号"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("code", response.context["form"].errors)
        self.assertContains(response, 'value="bad code!"')
        self.assertContains(response, 'value="新小学"')
        self.assertFalse(Unit.objects.filter(name="新小学").exists())

    def test_new_unit_form_offers_only_allowed_kinds(self):
        response = self.client_for(self.principal_a).post(
            reverse("orgs:unit-new", args=[self.school_a.pk]),
            {"code": "GX", "name": "x", "kind": UnitKind.GROUP},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("kind", response.context["form"].errors)
        self.assertFalse(Unit.objects.filter(code="GX").exists())


class SelfGrantTest(LifecycleTestCase):
    def test_nobody_grants_a_role_to_themselves(self):
        for person, unit in (
            (self.officer, self.bureau),
            (self.principal_a, self.school_a),
        ):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                services.membership_grant(
                    by=person, person=person, unit=unit, role=Role.BUREAU_LEADER
                )
        self.assertFalse(Membership.objects.filter(role=Role.BUREAU_LEADER).exists())

    def test_administrators_grant_themselves_nothing(self):
        with self.assertRaises(PermissionDenied):
            services.admin_role_grant(by=self.secadmin, person=self.secadmin, role=AdminRole.AUDIT)
        with self.assertRaises(PermissionDenied):
            services.membership_grant(
                by=self.secadmin, person=self.secadmin, unit=self.bureau, role=Role.SAFETY_OFFICE
            )
        self.secadmin.refresh_from_db()
        self.assertEqual(self.secadmin.admin_role, AdminRole.SECURITY)
        self.assertFalse(self.secadmin.memberships.exists())

    def test_nobody_revokes_their_own_role(self):
        membership = Membership.objects.get(person=self.principal_a, unit=self.school_a)
        with self.assertRaises(PermissionDenied):
            services.membership_revoke(by=self.principal_a, membership=membership)
        self.assertTrue(Membership.objects.filter(pk=membership.pk).exists())

    def test_grant_page_does_not_offer_oneself(self):
        client = self.client_for(self.principal_a)
        url = reverse("orgs:role-grant", args=[self.school_a.pk])
        response = client.post(
            url, {"person": str(self.principal_a.pk), "role": Role.SAFETY_OFFICER}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("person", response.context["form"].errors)
        self.assertFalse(
            Membership.objects.filter(person=self.principal_a, role=Role.SAFETY_OFFICER).exists()
        )
        # Another person in the school can be granted a role.
        response = client.post(url, {"person": str(self.teacher_a.pk), "role": Role.SAFETY_OFFICER})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(
            Membership.objects.filter(person=self.teacher_a, role=Role.SAFETY_OFFICER).exists()
        )

    def test_a_manager_grants_roles_to_others_only_in_their_subtree(self):
        with self.assertRaises(PermissionDenied):
            services.membership_grant(
                by=self.principal_a, person=self.teacher_a, unit=self.school_b, role=Role.STAFF
            )
        membership = services.membership_grant(
            by=self.principal_a, person=self.teacher_a, unit=self.school_a, role=Role.DUTY_STAFF
        )
        self.assertEqual(membership.granted_by, self.principal_a)
