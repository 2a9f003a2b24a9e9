"""For random trees and memberships, a person sees exactly the subtrees of their units.

The expected set is computed here from the parent links the test recorded, not
from the materialized paths orgs.access uses; then it is compared with what
access answers, what the API lists and what the export workbook holds.
"""

from dataclasses import dataclass
from io import BytesIO

from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from openpyxl import load_workbook

from safecampus.orgs import access, selectors, services
from safecampus.orgs.imports import UNITS_SHEET
from safecampus.orgs.models import (
    ALLOWED_CHILDREN,
    Area,
    Membership,
    Person,
    Role,
    Unit,
    UnitKind,
)

PEOPLE = 4
ROLES = sorted(Role.values)


@dataclass
class District:
    parents: list[int | None]  # index of each unit's parent, None for a root
    kinds: list[str]
    archived: set[int]  # closed downwards, as archiving requires
    memberships: list[tuple[int, int, str]]  # (person index, unit index, role)
    probe: list[int]  # for each person, one unit opened by id
    page_person: int  # the one whose pages are opened too (sessions are slow to make)


@st.composite
def districts(draw: st.DrawFn) -> District:
    size = draw(st.integers(min_value=2, max_value=25))
    parents: list[int | None] = [None]
    kinds: list[str] = [UnitKind.BUREAU]
    for i in range(1, size):
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            parents.append(None)  # a second tree: paths of other roots must not leak in
            kinds.append(UnitKind.BUREAU)
            continue
        parent = draw(st.integers(min_value=0, max_value=i - 1))
        parents.append(parent)
        kinds.append(draw(st.sampled_from(sorted(ALLOWED_CHILDREN[kinds[parent]]))))
    archived = set(draw(st.sets(st.integers(min_value=0, max_value=size - 1), max_size=3)))
    changed = True
    while changed:  # everything under an archived unit is archived too
        below = {i for i, p in enumerate(parents) if p in archived}
        changed = not below <= archived
        archived |= below
    memberships = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=PEOPLE - 1),
                st.integers(min_value=0, max_value=size - 1),
                st.sampled_from(ROLES),
            ),
            max_size=8,
            unique=True,
        )
    )
    probe = draw(st.lists(st.integers(0, size - 1), min_size=PEOPLE, max_size=PEOPLE))
    page_person = draw(st.integers(min_value=0, max_value=PEOPLE - 1))
    return District(parents, kinds, archived, memberships, probe, page_person)


def subtree_members(parents: list[int | None], tops: set[int]) -> set[int]:
    """Units with one of `tops` on their chain of parents (themselves included)."""
    found = set()
    for i in range(len(parents)):
        node: int | None = i
        while node is not None:
            if node in tops:
                found.add(i)
                break
            node = parents[node]
    return found


def export_codes(content: bytes) -> set[str]:
    sheet = load_workbook(BytesIO(content), read_only=True)[UNITS_SHEET]
    # Ledger layout: title, 填报 row, header; then 序号 in A and the code in B.
    return {row[1] for row in sheet.iter_rows(min_row=4, values_only=True) if row[1]}


class AccessPropertyTest(TestCase):
    """hypothesis.extra.django.TestCase: each example runs in its own rolled-back transaction."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.person_ids = []
        for n in range(PEOPLE):
            person = Person(
                username=f"p{n}",
                name=f"人员{n}",
                mobile=f"1380000000{n}",
                password_changed_at=timezone.now(),  # not sent to change an expired password
            )
            person.set_unusable_password()  # no hashing: the tokens and sessions are minted
            person.save()
            cls.person_ids.append(person.pk)

    def build(self, district: District) -> list[Unit]:
        units: list[Unit] = []
        for i, (parent, kind) in enumerate(zip(district.parents, district.kinds, strict=True)):
            unit = Unit(code=f"U{i}", name=f"单位{i}", kind=kind)
            if parent is None:
                units.append(Unit.objects.add_root(instance=unit))
            else:
                fresh_parent = Unit.objects.get(pk=units[parent].pk)  # current child count
                units.append(Unit.objects.add_child(fresh_parent, instance=unit))
        Unit.objects.filter(pk__in=[units[i].pk for i in district.archived]).update(
            archived_at="2024-01-01T00:00:00Z"
        )
        Area.objects.bulk_create(Area(unit=u, name=f"网格{u.code}") for u in units)
        Membership.objects.bulk_create(
            Membership(person_id=self.person_ids[p], unit=units[u], role=role)
            for p, u, role in district.memberships
        )
        return units

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(district=districts())
    def test_each_person_sees_exactly_their_subtrees(self, district: District) -> None:
        units = self.build(district)
        pk_of = [u.pk for u in units]
        live = set(range(len(units))) - district.archived
        for n, person_id in enumerate(self.person_ids):
            person = Person.objects.get(pk=person_id)  # no cached scope from an earlier example
            tops = {u for p, u, _role in district.memberships if p == n and u in live}
            expected = subtree_members(district.parents, tops)
            expected_pks = {pk_of[i] for i in expected}
            expected_live_pks = {pk_of[i] for i in expected & live}
            context = (n, tops, district)

            # orgs.access, the one place deciding.
            self.assertEqual(
                set(access.units_visible(person).values_list("pk", flat=True)),
                expected_pks,
                context,
            )
            self.assertEqual(
                set(
                    access.units_visible(person, include_archived=False).values_list(
                        "pk", flat=True
                    )
                ),
                expected_live_pks,
                context,
            )
            for i, unit in enumerate(units):
                self.assertEqual(access.unit_visible(person, unit), i in expected, (i, context))
            expected_areas = set(
                Area.objects.filter(unit_id__in=expected_pks).values_list("pk", flat=True)
            )
            self.assertEqual(
                set(access.areas_visible(person).values_list("pk", flat=True)),
                expected_areas,
                context,
            )
            expected_memberships = {
                (self.person_ids[p], pk_of[u], role)
                for p, u, role in district.memberships
                if u in expected
            }
            self.assertEqual(
                set(access.memberships_visible(person).values_list("person_id", "unit_id", "role")),
                expected_memberships,
                context,
            )
            expected_people = {p for p, _u, _r in expected_memberships} | {person_id}
            self.assertEqual(
                set(access.people_visible(person).values_list("pk", flat=True)),
                expected_people,
                context,
            )

            # The API, with a bearer token.
            api = Client(headers={"Authorization": f"Bearer {services.token_issue(person=person)}"})
            listed = api.get("/api/v1/units", {"limit": 1000}).json()
            self.assertEqual({u["id"] for u in listed["items"]}, expected_live_pks, context)
            self.assertEqual(listed["count"], len(expected_live_pks), context)
            areas = api.get("/api/v1/areas", {"limit": 1000}).json()["items"]
            self.assertEqual({a["id"] for a in areas}, expected_areas, context)
            rows = api.get("/api/v1/memberships", {"limit": 1000}).json()["items"]
            self.assertEqual(
                {(m["person_id"], m["unit_id"], m["role"]) for m in rows},
                expected_memberships,
                context,
            )
            people = api.get("/api/v1/people", {"limit": 1000}).json()["items"]
            self.assertEqual({p["id"] for p in people}, expected_people, context)
            probe = pk_of[district.probe[n]]
            self.assertEqual(
                api.get(f"/api/v1/units/{probe}").status_code,
                200 if probe in expected_pks else 404,
                context,
            )

            # The export, from the selector; and for one person a page, through the views.
            content = selectors.export_workbook(person, title_unit="t", reporter="r", today="d")
            self.assertEqual(export_codes(content), {f"U{i}" for i in expected & live}, context)
            if n != district.page_person:
                continue
            page = Client()
            page.force_login(person)
            response = page.get("/orgs/export.xlsx")
            if tops:
                self.assertEqual(response.status_code, 200, context)
                self.assertEqual(export_codes(response.content), {f"U{i}" for i in expected & live})
            else:
                self.assertEqual(response.status_code, 404, context)
            if district.probe[n] in live:
                self.assertEqual(
                    page.get(f"/orgs/units/{probe}/").status_code,
                    200 if probe in expected_pks else 404,
                    context,
                )
