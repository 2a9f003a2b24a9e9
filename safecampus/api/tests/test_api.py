"""The JSON API under /api/v1/: token auth, reads and writes, errors, and "B cannot see A"."""

import json
from datetime import timedelta
from io import BytesIO
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from safecampus.audit.models import AuditEntry
from safecampus.orgs import services
from safecampus.orgs.models import ApiToken, Area, Membership, Person, Role, Unit, UnitKind
from safecampus.test import PASSWORD, BaseTestCase

API = "/api/v1"


class ApiTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()  # the lockout policy is cached; every test starts from the defaults

    def api(self, person: Person | None) -> "ApiClient":
        return ApiClient(services.token_issue(person=person) if person else None)

    def assertError(
        self, response: Any, status: int, field: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        self.assertEqual(response.status_code, status, response.content)
        body = response.json()
        self.assertIsInstance(body.get("detail"), str)
        self.assertTrue(body["detail"])
        self.assertIsInstance(body.get("errors"), list)
        if field is not None:
            fields = {e["field"]: e["reason"] for e in body["errors"]}
            self.assertIn(field, fields, body)
            self.assertTrue(fields[field], body)
            self.assertIn(reason.lower(), fields[field].lower(), body)
        return body


class ApiClient:
    """A test client that sends `Authorization: Bearer <token>` and JSON bodies."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(API + path, params, headers=self.headers)

    def _send(self, method: str, path: str, body: Any) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return getattr(self.client, method)(
            API + path, data, content_type="application/json", headers=self.headers
        )

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("post", path, {} if body is None else body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._send("put", path, body)

    def delete(self, path: str) -> Any:
        return self.client.delete(API + path, headers=self.headers)


def ids(response: Any) -> set[int]:
    return {row["id"] for row in response.json()["items"]}


# --- Schema and token -------------------------------------------------------------


class SchemaTest(ApiTestCase):
    def test_openapi_schema_lists_every_resource(self) -> None:
        response = Client().get(f"{API}/openapi.json")
        self.assertEqual(response.status_code, 200)
        schema = json.loads(response.content)
        self.assertTrue(schema["openapi"].startswith("3."))
        for path in ("units", "areas", "people", "memberships", "auth/token"):
            self.assertIn(f"{API}/{path}", schema["paths"])
        self.assertIn(f"{API}/units/{{unit_id}}", schema["paths"])
        self.assertIn("post", schema["paths"][f"{API}/auth/token"])


class TokenTest(ApiTestCase):
    def post_token(self, username: str, password: str, client: Client | None = None) -> Any:
        return (client or Client()).post(
            f"{API}/auth/token",
            {"username": username, "password": password},
            content_type="application/json",
        )

    def test_username_and_password_give_a_working_token(self) -> None:
        response = self.post_token("principal.a", PASSWORD)
        self.assertEqual(response.status_code, 200, response.content)
        token = response.json()["token"]
        self.assertGreater(response.json()["expires_in"], 0)
        # Only the hash is stored.
        self.assertFalse(ApiToken.objects.filter(key_hash=token).exists())
        answer = Client().get(f"{API}/units", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(ids(answer), {self.school_a.pk})

    def test_mobile_number_logs_in_too(self) -> None:
        response = self.post_token("13900000003", PASSWORD)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(ApiToken.objects.get().person, self.duty_b)

    def test_wrong_password_and_unknown_user_get_the_same_401(self) -> None:
        wrong = self.assertError(self.post_token("principal.a", "Wrong-pass-1"), 401)
        unknown = self.assertError(self.post_token("nobody.here", "Wrong-pass-1"), 401)
        unknown_mobile = self.assertError(self.post_token("13911112222", "Wrong-pass-1"), 401)
        self.assertEqual(wrong["detail"], unknown["detail"])
        self.assertEqual(wrong["detail"], unknown_mobile["detail"])
        self.assertFalse(ApiToken.objects.exists())

    def test_inactive_account_gets_no_token(self) -> None:
        Person.objects.filter(pk=self.teacher_a.pk).update(is_active=False)
        self.assertError(self.post_token("teacher.a", PASSWORD), 401)

    def test_repeated_failures_lock_the_account_with_429(self) -> None:
        statuses = [self.post_token("principal.a", "Wrong-pass-1").status_code for _ in range(6)]
        self.assertEqual(statuses[:4], [401] * 4)
        self.assertEqual(statuses[-1], 429)
        locked = self.assertError(self.post_token("principal.a", PASSWORD), 429)
        self.assertNotIn("token", locked)
        # Failures by mobile number count against the same account.
        self.assertError(self.post_token("13900000002", PASSWORD), 429)
        # Another account is untouched.
        self.assertEqual(self.post_token("duty.b", PASSWORD).status_code, 200)

    def test_unknown_accounts_lock_out_the_same_way(self) -> None:
        statuses = [self.post_token("nobody.here", "Wrong-pass-1").status_code for _ in range(6)]
        self.assertEqual(statuses[:4], [401] * 4)
        self.assertEqual(statuses[-1], 429)

    def test_bad_token_bodies_name_the_field(self) -> None:
        client = Client()
        url = f"{API}/auth/token"
        self.assertError(
            client.post(url, {"username": "x"}, content_type="application/json"), 422, "password"
        )
        self.assertError(
            client.post(url, {"username": 5, "password": []}, content_type="application/json"),
            422,
            "password",
        )
        response = client.post(url, "{not json", content_type="application/json")
        self.assertIn(response.status_code, (400, 422))

    def test_bearer_requests_need_no_csrf_token(self) -> None:
        token = services.token_issue(person=self.officer)
        client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
        response = client.patch(
            f"{API}/units/{self.school_a.pk}", {"phone": "0571-1"}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 200, response.content)

    def test_a_signed_in_browser_session_is_not_an_api_login(self) -> None:
        # The site's session middleware skips /api/: only the bearer token counts,
        # and the API neither reads nor sets the session cookie.
        client = Client()
        client.force_login(self.officer)
        response = client.get(f"{API}/units")
        self.assertEqual(response.status_code, 401, response.content)
        self.assertNotIn("sessionid", response.cookies)
        page = client.get("/")
        self.assertEqual(page.status_code, 200)  # the same session works on the site

    def test_api_answers_in_the_callers_language_without_the_session(self) -> None:
        detail = {}
        for language in ("zh-hans", "en"):
            response = Client(HTTP_ACCEPT_LANGUAGE=language).get(f"{API}/units")
            self.assertEqual(response.status_code, 401)
            detail[language] = response.json()["detail"]
            self.assertEqual(response["Content-Language"], language)
        self.assertNotEqual(detail["zh-hans"], detail["en"])

    def test_api_writes_are_audited_with_the_token_holder(self) -> None:
        self.api(self.principal_a).patch(f"/units/{self.school_a.pk}", {"address": "城关路1号"})
        entry = AuditEntry.objects.filter(
            model="orgs.unit", object_id=str(self.school_a.pk)
        ).first()
        self.assertEqual(entry.action, "update")
        self.assertEqual(entry.actor_id, self.principal_a.pk)

    def test_missing_expired_or_wrong_token_is_401(self) -> None:
        self.assertError(self.api(None).get("/units"), 401)
        self.assertError(ApiClient("not-a-token").get("/units"), 401)
        client = self.api(self.officer)
        ApiToken.objects.update(expires_at="2000-01-01T00:00:00Z")
        self.assertError(client.get("/units"), 401)
        client = self.api(self.officer)
        Person.objects.filter(pk=self.officer.pk).update(is_active=False)
        self.assertError(client.get("/units"), 401)

    def test_token_use_is_noted_at_most_every_five_minutes(self) -> None:
        client = self.api(self.officer)
        self.assertEqual(client.get("/units").status_code, 200)
        token = ApiToken.objects.get(person=self.officer)
        first = token.last_used_at
        self.assertIsNotNone(first)
        client.get("/units")
        token.refresh_from_db()
        self.assertEqual(token.last_used_at, first)  # a minute later: not written again
        old = first - timedelta(minutes=6)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
        client.get("/units")
        token.refresh_from_db()
        self.assertGreater(token.last_used_at, first)

    def test_the_token_holder_is_the_whole_person(self) -> None:
        # Authentication reads the person with a hand-written statement: what it gives
        # must be the same person the ORM would (datetimes aware on SQLite too).
        client = self.api(self.officer)
        response = client.get("/units")
        self.assertEqual(response.status_code, 200)
        from safecampus.api.auth import BearerToken

        request = type("R", (), {})()
        person = BearerToken().authenticate(request, client.headers["Authorization"][7:])
        expected = Person.objects.get(pk=self.officer.pk)
        self.assertEqual(person, expected)
        self.assertEqual(person.username, expected.username)
        self.assertEqual(person.date_joined, expected.date_joined)
        self.assertIsNotNone(person.date_joined.tzinfo)
        self.assertIs(request.user, person)

    # --- Units ------------------------------------------------------------------------

    def test_the_token_brings_the_same_scope_as_the_memberships(self) -> None:
        # Authentication reads the holder's memberships in the same statement; the units
        # they may see and manage must be those orgs.access works out on its own.
        from safecampus.api.auth import BearerToken
        from safecampus.orgs import access

        person = self.principal_a
        Membership.objects.create(person=person, unit=self.school_b, role=Role.HEAD_TEACHER)
        archived = services.unit_create(
            by=self.officer, parent=self.group_1, code="OLD", name="旧校", kind=UnitKind.SCHOOL
        )
        Membership.objects.create(person=person, unit=archived, role=Role.PRINCIPAL)
        Unit.objects.filter(pk=archived.pk).update(archived_at=self.school_a.created_at)
        token = services.token_issue(person=person)

        holder = BearerToken().authenticate(type("R", (), {})(), token)
        fresh = Person.objects.get(pk=person.pk)
        self.assertEqual(access._scope(holder), access._scope(fresh))
        self.assertEqual(access._scope(holder)["manage"], [self.school_a.path])
        self.assertEqual(
            sorted(access._scope(holder)["see"]), sorted([self.school_a.path, self.school_b.path])
        )
        with CaptureQueriesContext(connection) as ctx:
            self.assertTrue(access.unit_visible(holder, self.school_b))
            self.assertFalse(access.can_manage(holder, self.school_b))
        self.assertEqual(len(ctx.captured_queries), 0, "the scope came with the token")


class UnitApiTest(ApiTestCase):
    def test_officer_lists_the_whole_district_in_tree_order(self) -> None:
        response = self.api(self.officer).get("/units")
        self.assertEqual(response.status_code, 200)
        codes = [u["code"] for u in response.json()["items"]]
        self.assertEqual(codes, ["330100", "G1", "SA", "G2", "SB"])
        school_a = next(u for u in response.json()["items"] if u["code"] == "SA")
        self.assertEqual(school_a["parent_id"], self.group_1.pk)
        self.assertEqual(school_a["kind"], "school")

    def test_filters(self) -> None:
        client = self.api(self.officer)
        children = client.get("/units", parent=self.bureau.pk)
        self.assertEqual(ids(children), {self.group_1.pk, self.group_2.pk})
        under = client.get("/units", under=self.group_1.pk)
        self.assertEqual(ids(under), {self.group_1.pk, self.school_a.pk})
        self.assertEqual(
            ids(client.get("/units", kind="school")), {self.school_a.pk, self.school_b.pk}
        )
        self.assertEqual(ids(client.get("/units", q="城关")), {self.group_1.pk, self.school_a.pk})
        page = client.get("/units", limit=2, offset=1).json()
        self.assertEqual(page["count"], 5)
        self.assertEqual([u["code"] for u in page["items"]], ["G1", "SA"])

    def test_principal_creates_edits_and_deletes_a_department(self) -> None:
        client = self.api(self.principal_a)
        body = {"parent_id": self.school_a.pk, "name": "一年级", "kind": "department"}
        response = client.post("/units", {**body, "code": "SA-D0"})
        self.assertEqual(response.status_code, 201, response.content)
        # Created by mistake, no history yet: it can be deleted.
        self.assertEqual(client.delete(f"/units/{response.json()['id']}").status_code, 204)
        self.assertFalse(Unit.objects.filter(code="SA-D0").exists())

        response = client.post("/units", {**body, "code": "SA-D1"})
        self.assertEqual(response.status_code, 201, response.content)
        dept = response.json()
        self.assertEqual(dept["parent_id"], self.school_a.pk)
        self.assertEqual(dept["depth"], self.school_a.depth + 1)

        response = client.patch(
            f"/units/{dept['id']}", {"name": "二年级", "head_id": self.teacher_a.pk}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["name"], "二年级")
        self.assertEqual(response.json()["head_id"], self.teacher_a.pk)

        # Once edited it has history: archive, not delete.
        self.assertError(client.delete(f"/units/{dept['id']}"), 422)
        self.assertTrue(Unit.objects.filter(pk=dept["id"]).exists())

    def test_a_unit_with_history_is_archived_not_deleted(self) -> None:
        client = self.api(self.officer)
        self.assertError(client.delete(f"/units/{self.school_a.pk}"), 422)
        self.assertTrue(Unit.objects.filter(pk=self.school_a.pk).exists())
        # Archiving a unit with open children is refused; a leaf can be archived.
        self.assertError(client.post(f"/units/{self.group_1.pk}/archive"), 422)
        response = client.post(f"/units/{self.school_a.pk}/archive")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertTrue(response.json()["archived"])
        self.assertNotIn(self.school_a.pk, ids(client.get("/units")))
        self.assertIn(self.school_a.pk, ids(client.get("/units", archived="true")))

    def test_move_a_school_to_another_group(self) -> None:
        response = self.api(self.officer).patch(
            f"/units/{self.school_a.pk}", {"parent_id": self.group_2.pk}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["parent_id"], self.group_2.pk)

    def test_principal_cannot_create_a_sibling_or_a_root(self) -> None:
        client = self.api(self.principal_a)
        self.assertError(
            client.post(
                "/units",
                {"parent_id": self.group_1.pk, "code": "SX", "name": "X", "kind": "school"},
            ),
            404,
        )
        self.assertError(client.post("/units", {"code": "R2", "name": "R", "kind": "bureau"}), 403)
        self.assertError(client.delete(f"/units/{self.school_a.pk}"), 422)

    def test_duty_staff_reads_but_cannot_write_their_school(self) -> None:
        client = self.api(self.duty_b)
        self.assertEqual(client.get(f"/units/{self.school_b.pk}").status_code, 200)
        self.assertError(client.patch(f"/units/{self.school_b.pk}", {"name": "改名"}), 403)
        self.assertError(
            client.post(
                "/units",
                {"parent_id": self.school_b.pk, "code": "SB-D", "name": "D", "kind": "department"},
            ),
            403,
        )
        self.assertEqual(Unit.objects.get(pk=self.school_b.pk).name, "西山小学")


class UnitErrorsTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client_ = self.api(self.officer)

    def create(self, **body: Any) -> Any:
        return self.client_.post("/units", body)

    def test_a_null_character_is_a_422_naming_the_field(self) -> None:
        # No PostgreSQL text holds one: it was a 500 there. Anywhere in the API.
        school = self.school_a.pk
        self.assertError(
            self.client_.patch(f"/units/{school}", {"address": "a\u0000b"}), 422, "address", "null"
        )
        self.assertError(
            self.create(parent_id=self.group_1.pk, code="X1", name="校\u0000", kind="school"),
            422,
            "name",
            "null",
        )
        nested = {"unit": school, "date": "2026-01-01", "zero": False}
        nested["items"] = [{"what": "ok"}, {"what": "门卫", "measures": "\u0000"}]
        self.assertError(self.client_.post("/daily-reports", nested), 422, "items.1.measures")
        self.assertError(self.client_.post("/daily-reports", {"a\u0000": 1}), 422, "a")
        self.assertError(self.client_.get("/units", q="\u0000"), 422, "q", "null")
        self.assertEqual(self.client_.get("/units", q="城关").status_code, 200)
        # An escaped backslash before "u0000" is text, not a NUL.
        fine = self.client_.patch(f"/units/{school}", {"address": "C:\\u0000"})
        self.assertEqual(fine.status_code, 200, fine.content)
        self.school_a.refresh_from_db()
        self.assertEqual(self.school_a.address, "C:\\u0000")
        self.assertEqual(self.client_.patch(f"/units/{school}", "{bad json").status_code, 400)

    def test_missing_field(self) -> None:
        self.assertError(
            self.create(parent_id=self.group_1.pk, name="X", kind="school"), 422, "code"
        )

    def test_wrong_type(self) -> None:
        self.assertError(
            self.create(parent_id="abc", code="X1", name="X", kind="school"), 422, "parent_id"
        )
        self.assertError(
            self.create(parent_id=self.group_1.pk, code=["X"], name="X", kind="school"), 422, "code"
        )

    def test_unknown_kind(self) -> None:
        self.assertError(
            self.create(parent_id=self.group_1.pk, code="X1", name="X", kind="castle"),
            422,
            "kind",
            "unknown",
        )

    def test_kind_not_allowed_under_parent(self) -> None:
        self.assertError(
            self.create(parent_id=self.school_a.pk, code="X1", name="X", kind="group"), 422, "kind"
        )

    def test_duplicate_code(self) -> None:
        self.assertError(
            self.create(parent_id=self.group_1.pk, code="SB", name="X", kind="school"),
            422,
            "code",
            "already exists",
        )

    def test_bad_code(self) -> None:
        self.assertError(
            self.create(parent_id=self.group_1.pk, code="a b!", name="X", kind="school"),
            422,
            "code",
        )

    def test_blank_name(self) -> None:
        self.assertError(
            self.create(parent_id=self.group_1.pk, code="X1", name="", kind="school"), 422, "name"
        )
        self.assertError(
            self.create(parent_id=self.group_1.pk, code="X1", name="   ", kind="school"),
            422,
            "name",
        )

    def test_invalid_json_body(self) -> None:
        self.assertError(self.client_.post("/units", "{nope"), 400, "body", "not valid JSON")

    def test_unknown_head(self) -> None:
        self.assertError(
            self.create(
                parent_id=self.group_1.pk, code="X1", name="X", kind="school", head_id=999999
            ),
            404,
        )

    def test_move_under_own_child_is_refused(self) -> None:
        self.assertError(
            self.client_.patch(f"/units/{self.group_1.pk}", {"parent_id": self.school_a.pk}),
            422,
            "parent",
        )
        self.assertError(
            self.client_.patch(f"/units/{self.group_1.pk}", {"parent_id": self.group_1.pk}),
            422,
            "parent",
        )
        self.assertError(
            self.client_.patch(f"/units/{self.bureau.pk}", {"parent_id": self.school_a.pk}),
            422,
            "parent",
        )
        self.group_1.refresh_from_db()
        self.assertEqual(self.group_1.depth, 2)

    def test_move_to_a_parent_of_the_wrong_kind(self) -> None:
        self.assertError(
            self.client_.patch(f"/units/{self.school_b.pk}", {"parent_id": self.school_a.pk}),
            422,
            "kind",
        )

    def test_patch_kind_so_children_no_longer_fit(self) -> None:
        self.assertError(
            self.client_.patch(f"/units/{self.group_1.pk}", {"kind": "department"}), 422, "kind"
        )
        self.assertError(
            self.client_.patch(f"/units/{self.bureau.pk}", {"kind": "group"}), 422, "kind"
        )

    def test_patch_nulls_are_refused_not_crashes(self) -> None:
        for field in ("code", "name", "kind", "address", "phone"):
            response = self.client_.patch(f"/units/{self.school_a.pk}", {field: None})
            self.assertError(response, 422, field)

    def test_odd_ids_and_paging_are_4xx(self) -> None:
        for path in (
            "/units/abc",
            "/units/-1",
            "/units/0",
            "/units/1.5",
            "/units/99999999999999999999999999",
            "/units/9223372036854775808",
        ):
            response = self.client_.get(path)
            self.assertIn(response.status_code, (404, 422), path)
        for params in (
            {"limit": 10**30},
            {"limit": 2**63},
            {"offset": 10**30},
            {"offset": 2**63},
            {"limit": 0},
            {"limit": -1},
            {"offset": -1},
            {"limit": "x"},
            {"parent": 10**30},
            {"under": 2**63},
            {"parent": "x"},
            {"archived": "maybe"},
        ):
            response = self.client_.get("/units", **params)
            self.assertLess(response.status_code, 500, params)
            self.assertIn("detail" if response.status_code >= 400 else "items", response.json())
        self.assertError(self.client_.get("/units", limit=10**30), 422, "limit")
        self.assertError(self.client_.get("/units", limit=1001), 422, "limit")
        self.assertEqual(self.client_.get("/units", limit=1000).status_code, 200)
        self.assertError(self.client_.get("/units", offset=2**63), 422, "offset")

    def test_huge_ids_in_bodies_are_4xx(self) -> None:
        for body in (
            {"parent_id": 10**30, "code": "X1", "name": "X", "kind": "school"},
            {
                "parent_id": self.group_1.pk,
                "code": "X1",
                "name": "X",
                "kind": "school",
                "head_id": 2**63,
            },
        ):
            response = self.create(**body)
            self.assertIn(response.status_code, (404, 422), body)
        response = self.client_.patch(f"/units/{self.school_a.pk}", {"parent_id": 2**63})
        self.assertIn(response.status_code, (404, 422))
        response = self.client_.patch(f"/units/{self.school_a.pk}", {"head_id": 10**30})
        self.assertIn(response.status_code, (404, 422))


# --- Areas ------------------------------------------------------------------------


class AreaApiTest(ApiTestCase):
    def test_list_flags_areas_without_a_responsible_person(self) -> None:
        response = self.api(self.principal_a).get("/areas")
        self.assertEqual(response.status_code, 200)
        rows = {a["name"]: a for a in response.json()["items"]}
        self.assertEqual(set(rows), {"教学楼", "食堂"})
        self.assertFalse(rows["教学楼"]["needs_responsible"])
        self.assertTrue(rows["食堂"]["needs_responsible"])
        unassigned = self.api(self.principal_a).get("/areas", unassigned="true")
        self.assertEqual(ids(unassigned), {self.area_a_open.pk})

    def test_principal_creates_and_edits_an_area(self) -> None:
        client = self.api(self.principal_a)
        response = client.post(
            "/areas",
            {
                "unit_id": self.school_a.pk,
                "name": "操场",
                "kind": "sports",
                "responsible_id": self.teacher_a.pk,
            },
        )
        self.assertEqual(response.status_code, 201, response.content)
        area_id = response.json()["id"]
        response = client.patch(
            f"/areas/{area_id}", {"responsible_id": None, "description": "北侧"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIsNone(response.json()["responsible_id"])
        self.assertTrue(response.json()["needs_responsible"])
        self.assertEqual(Area.objects.get(pk=area_id).description, "北侧")

    def test_area_errors_name_the_field(self) -> None:
        client = self.api(self.principal_a)
        self.assertError(client.post("/areas", {"name": "X"}), 422, "unit_id")
        self.assertError(
            client.post("/areas", {"unit_id": self.school_a.pk, "name": "X", "kind": "castle"}),
            422,
            "kind",
        )
        self.assertError(
            client.post("/areas", {"unit_id": self.school_a.pk, "name": "教学楼"}), 422, "name"
        )
        self.assertError(
            client.patch(f"/areas/{self.area_a_open.pk}", {"name": "教学楼"}), 422, "name"
        )
        self.assertError(client.patch(f"/areas/{self.area_a.pk}", {"kind": None}), 422, "kind")
        self.assertError(client.patch(f"/areas/{self.area_a.pk}", {"responsible_id": 999999}), 404)
        # A person the principal cannot see cannot be made responsible.
        self.assertError(
            client.patch(f"/areas/{self.area_a.pk}", {"responsible_id": self.duty_b.pk}), 404
        )
        self.assertIn(client.get("/areas/abc").status_code, (404, 422))
        self.assertIn(client.get(f"/areas/{2**63}").status_code, (404, 422))
        self.assertLess(client.get("/areas", unit=2**63).status_code, 500)

    def test_teacher_cannot_edit_areas(self) -> None:
        client = self.api(self.teacher_a)
        self.assertEqual(client.get(f"/areas/{self.area_a.pk}").status_code, 200)
        self.assertError(client.patch(f"/areas/{self.area_a.pk}", {"name": "新楼"}), 403)
        self.assertError(client.post("/areas", {"unit_id": self.school_a.pk, "name": "新楼"}), 403)


# --- People -----------------------------------------------------------------------


class PeopleApiTest(ApiTestCase):
    def test_mobiles_are_masked_for_callers_who_do_not_manage_the_person(self) -> None:
        rows = {p["id"]: p for p in self.api(self.teacher_a).get("/people").json()["items"]}
        self.assertEqual(set(rows), {self.teacher_a.pk, self.principal_a.pk})
        self.assertEqual(rows[self.principal_a.pk]["mobile"], "139****0002")
        self.assertEqual(rows[self.teacher_a.pk]["mobile"], "13900000004")  # their own
        single = self.api(self.teacher_a).get(f"/people/{self.principal_a.pk}").json()
        self.assertEqual(single["mobile"], "139****0002")

    def test_managers_see_full_mobiles(self) -> None:
        rows = {p["id"]: p for p in self.api(self.principal_a).get("/people").json()["items"]}
        self.assertEqual(rows[self.teacher_a.pk]["mobile"], "13900000004")
        rows = {p["id"]: p for p in self.api(self.officer).get("/people").json()["items"]}
        self.assertEqual(rows[self.duty_b.pk]["mobile"], "13900000003")
        # A principal cannot manage the bureau officer, so cannot see their number in full.
        Membership.objects.create(person=self.officer, unit=self.school_a, role=Role.INSPECTOR)
        rows = {p["id"]: p for p in self.api(self.principal_a).get("/people").json()["items"]}
        self.assertEqual(rows[self.officer.pk]["mobile"], "139****0001")

    def test_people_list_takes_the_same_queries_for_more_people(self) -> None:
        client = self.api(self.principal_a)
        client.get("/people")  # the token's first use is written down once
        with CaptureQueriesContext(connection) as few:
            client.get("/people")
        for n in range(6):
            person = Person.objects.create(username=f"extra{n}", name=f"员工{n}")
            Membership.objects.create(person=person, unit=self.school_a, role=Role.STAFF)
            Membership.objects.create(person=person, unit=self.school_b, role=Role.STAFF)
        with CaptureQueriesContext(connection) as many:
            response = client.get("/people")
        self.assertEqual(response.json()["count"], 8)
        self.assertEqual(len(many), len(few), [q["sql"] for q in many])

    def test_list_filters(self) -> None:
        client = self.api(self.officer)
        self.assertEqual(
            ids(client.get("/people", unit=self.school_a.pk)),
            {self.principal_a.pk, self.teacher_a.pk},
        )
        self.assertEqual(ids(client.get("/people", q="王")), {self.principal_a.pk})
        self.assertEqual(ids(client.get("/people", q="duty")), {self.duty_b.pk})
        self.assertEqual(
            ids(client.get("/people", unit=self.school_a.pk, q="陈")), {self.teacher_a.pk}
        )
        self.assertError(client.get("/people", q="x" * 51), 422, "q")

    def test_principal_creates_a_person_with_roles(self) -> None:
        client = self.api(self.principal_a)
        response = client.post(
            "/people",
            {
                "unit_id": self.school_a.pk,
                "name": "赵门卫",
                "mobile": "13800001111",
                "roles": ["gate_guard"],
            },
        )
        self.assertEqual(response.status_code, 201, response.content)
        person = Person.objects.get(pk=response.json()["id"])
        self.assertEqual(response.json()["mobile"], "13800001111")
        self.assertEqual(
            list(person.memberships.values_list("unit_id", "role")),
            [(self.school_a.pk, "gate_guard")],
        )
        self.assertFalse(person.has_usable_password())

    def test_bad_mobile_names_the_field(self) -> None:
        client = self.api(self.principal_a)
        for mobile in ("12345678901", "1380000111", "abcdefghijk"):
            self.assertError(
                client.post(
                    "/people", {"unit_id": self.school_a.pk, "name": "X", "mobile": mobile}
                ),
                422,
                "mobile",
            )
        self.assertError(
            client.post(
                "/people", {"unit_id": self.school_a.pk, "name": "X", "mobile": "138000011112"}
            ),
            422,
            "mobile",
        )
        # Duplicate mobile.
        self.assertError(
            client.post(
                "/people", {"unit_id": self.school_a.pk, "name": "X", "mobile": "13900000004"}
            ),
            422,
            "mobile",
        )
        self.assertError(
            client.patch(f"/people/{self.teacher_a.pk}", {"mobile": "23900000004"}), 422, "mobile"
        )
        self.assertFalse(Person.objects.filter(name="X").exists())

    def test_other_person_errors(self) -> None:
        client = self.api(self.principal_a)
        self.assertError(client.post("/people", {"unit_id": self.school_a.pk}), 422, "name")
        self.assertError(
            client.post("/people", {"unit_id": self.school_a.pk, "name": "X", "roles": ["king"]}),
            422,
            "role",
        )
        self.assertError(
            client.post("/people", {"unit_id": self.school_a.pk, "name": "X", "roles": "staff"}),
            422,
            "roles",
        )
        self.assertError(
            client.post(
                "/people", {"unit_id": self.school_a.pk, "name": "X", "username": "teacher.a"}
            ),
            422,
            "username",
        )
        self.assertError(
            client.post("/people", {"unit_id": self.school_a.pk, "name": "X", "email": "nope"}),
            422,
            "email",
        )
        self.assertError(client.patch(f"/people/{self.teacher_a.pk}", {"name": None}), 422, "name")
        response = client.patch(f"/people/{self.teacher_a.pk}", {"email": None})
        self.assertIn(response.status_code, (200, 422))
        self.assertEqual(Person.objects.get(pk=self.teacher_a.pk).email, "")
        self.assertFalse(Person.objects.filter(name="X").exists())
        self.assertIn(client.get("/people/abc").status_code, (404, 422))
        self.assertIn(client.get(f"/people/{10**30}").status_code, (404, 422))
        self.assertLess(client.get("/people", unit=10**30).status_code, 500)

    def test_edit_own_and_managed_people_only(self) -> None:
        teacher = self.api(self.teacher_a)
        response = teacher.patch(f"/people/{self.teacher_a.pk}", {"email": "chen@example.cn"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertError(teacher.patch(f"/people/{self.principal_a.pk}", {"name": "X"}), 403)
        response = self.api(self.principal_a).patch(
            f"/people/{self.teacher_a.pk}", {"mobile": "13800009999"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["mobile"], "13800009999")
        # No escalating through unknown fields.
        self.api(self.teacher_a).patch(f"/people/{self.teacher_a.pk}", {"admin_role": "system"})
        self.teacher_a.refresh_from_db()
        self.assertEqual(self.teacher_a.admin_role, "")


# --- Memberships ------------------------------------------------------------------


class MembershipApiTest(ApiTestCase):
    def test_grant_and_revoke(self) -> None:
        client = self.api(self.principal_a)
        response = client.post(
            "/memberships",
            {"person_id": self.teacher_a.pk, "unit_id": self.school_a.pk, "role": "safety_officer"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(
            (body["person_id"], body["unit_id"], body["role"]),
            (self.teacher_a.pk, self.school_a.pk, "safety_officer"),
        )
        listed = client.get("/memberships", person=self.teacher_a.pk).json()["items"]
        self.assertEqual({m["role"] for m in listed}, {"head_teacher", "safety_officer"})
        self.assertEqual(client.delete(f"/memberships/{body['id']}").status_code, 204)
        self.assertFalse(Membership.objects.filter(pk=body["id"]).exists())

    def test_grant_errors(self) -> None:
        client = self.api(self.principal_a)
        self.assertError(
            client.post(
                "/memberships", {"person_id": self.teacher_a.pk, "unit_id": self.school_a.pk}
            ),
            422,
            "role",
        )
        self.assertError(
            client.post(
                "/memberships",
                {"person_id": self.teacher_a.pk, "unit_id": self.school_a.pk, "role": "king"},
            ),
            422,
            "role",
            "unknown",
        )
        self.assertError(
            client.post(
                "/memberships",
                {
                    "person_id": self.teacher_a.pk,
                    "unit_id": self.school_a.pk,
                    "role": "head_teacher",
                },
            ),
            422,
            "role",
        )
        self.assertError(
            client.post(
                "/memberships",
                {"person_id": "x", "unit_id": self.school_a.pk, "role": "staff"},
            ),
            422,
            "person_id",
        )
        self.assertError(
            client.post(
                "/memberships",
                {"person_id": 999999, "unit_id": self.school_a.pk, "role": "staff"},
            ),
            404,
        )
        self.assertLess(
            client.post(
                "/memberships",
                {"person_id": 2**63, "unit_id": 10**30, "role": "staff"},
            ).status_code,
            500,
        )

    def test_nobody_grants_or_revokes_their_own_roles(self) -> None:
        client = self.api(self.principal_a)
        self.assertError(
            client.post(
                "/memberships",
                {"person_id": self.principal_a.pk, "unit_id": self.school_a.pk, "role": "staff"},
            ),
            403,
        )
        own = Membership.objects.get(person=self.principal_a)
        self.assertError(client.delete(f"/memberships/{own.pk}"), 403)
        self.assertTrue(Membership.objects.filter(pk=own.pk).exists())

    def test_teacher_cannot_grant(self) -> None:
        self.assertError(
            self.api(self.teacher_a).post(
                "/memberships",
                {"person_id": self.principal_a.pk, "unit_id": self.school_a.pk, "role": "staff"},
            ),
            403,
        )

    def test_memberships_list_odd_filters(self) -> None:
        client = self.api(self.officer)
        self.assertLess(client.get("/memberships", person=10**30).status_code, 500)
        self.assertLess(client.get("/memberships", unit=10**30).status_code, 500)
        self.assertIn(client.delete("/memberships/abc").status_code, (404, 422))
        self.assertIn(client.delete(f"/memberships/{10**30}").status_code, (404, 422))


# --- B cannot see A ---------------------------------------------------------------


class SchoolBCannotSeeSchoolATest(ApiTestCase):
    """duty_b (school B) against every endpoint: 403 or 404, never school A's data."""

    def setUp(self) -> None:
        super().setUp()
        self.b = self.api(self.duty_b)
        self.membership_a = Membership.objects.get(person=self.teacher_a)

    def assertHidden(self, response: Any) -> None:
        self.assertIn(response.status_code, (403, 404), response.content)
        text = response.content.decode()
        for secret in ("城关小学", "教学楼", "王校长", "陈老师", "13900000002", "SA"):
            self.assertNotIn(secret, text)

    def test_units(self) -> None:
        self.assertEqual(ids(self.b.get("/units")), {self.school_b.pk})
        for unit in (self.school_a, self.group_1, self.bureau):
            self.assertHidden(self.b.get(f"/units/{unit.pk}"))
            self.assertHidden(self.b.patch(f"/units/{unit.pk}", {"name": "X"}))
            self.assertHidden(self.b.delete(f"/units/{unit.pk}"))
            self.assertHidden(self.b.post(f"/units/{unit.pk}/archive"))
            self.assertHidden(self.b.get("/units", parent=unit.pk))
            self.assertHidden(self.b.get("/units", under=unit.pk))
        self.assertHidden(
            self.b.post(
                "/units",
                {"parent_id": self.school_a.pk, "code": "X", "name": "X", "kind": "department"},
            )
        )
        self.assertHidden(
            self.b.patch(f"/units/{self.school_b.pk}", {"parent_id": self.group_1.pk})
        )
        self.assertEqual(self.b.get("/units", q="城关").json()["items"], [])
        self.assertEqual(self.b.get("/units", archived="true").json()["count"], 1)
        self.assertEqual(Unit.objects.get(pk=self.school_a.pk).name, "城关小学")

    def test_units_even_for_a_manager_of_b(self) -> None:
        """A manager of B can write in B, but not reach into A by ids."""
        principal_b = Person.objects.create(username="principal.b", name="B校长")
        Membership.objects.create(person=principal_b, unit=self.school_b, role=Role.PRINCIPAL)
        b = self.api(principal_b)
        self.assertHidden(b.patch(f"/units/{self.school_a.pk}", {"name": "X"}))
        self.assertHidden(b.patch(f"/units/{self.school_b.pk}", {"parent_id": self.school_a.pk}))
        self.assertHidden(b.patch(f"/units/{self.school_b.pk}", {"head_id": self.principal_a.pk}))
        self.assertHidden(
            b.post(
                "/units",
                {"parent_id": self.school_a.pk, "code": "X", "name": "X", "kind": "department"},
            )
        )
        self.assertHidden(
            b.post("/areas", {"unit_id": self.school_a.pk, "name": "X", "kind": "other"})
        )
        self.assertHidden(
            b.post(
                "/areas",
                {"unit_id": self.school_b.pk, "name": "X", "responsible_id": self.teacher_a.pk},
            )
        )
        self.assertHidden(b.patch(f"/areas/{self.area_a.pk}", {"name": "X"}))
        self.assertHidden(b.post("/people", {"unit_id": self.school_a.pk, "name": "X"}))
        self.assertHidden(
            b.post(
                "/memberships",
                {"person_id": self.teacher_a.pk, "unit_id": self.school_b.pk, "role": "staff"},
            )
        )
        self.assertHidden(
            b.post(
                "/memberships",
                {"person_id": self.duty_b.pk, "unit_id": self.school_a.pk, "role": "staff"},
            )
        )
        self.assertHidden(b.delete(f"/memberships/{self.membership_a.pk}"))
        self.assertHidden(b.patch(f"/people/{self.teacher_a.pk}", {"name": "X"}))
        self.assertEqual(Person.objects.get(pk=self.teacher_a.pk).name, "陈老师")
        self.assertTrue(Membership.objects.filter(pk=self.membership_a.pk).exists())

    def test_areas(self) -> None:
        self.assertEqual(ids(self.b.get("/areas")), {self.area_b.pk})
        self.assertHidden(self.b.get("/areas", unit=self.school_a.pk))
        for area in (self.area_a, self.area_a_open):
            self.assertHidden(self.b.get(f"/areas/{area.pk}"))
            self.assertHidden(self.b.patch(f"/areas/{area.pk}", {"name": "X"}))
        self.assertHidden(
            self.b.post("/areas", {"unit_id": self.school_a.pk, "name": "X", "kind": "other"})
        )
        self.assertEqual(Area.objects.get(pk=self.area_a.pk).name, "教学楼")

    def test_people(self) -> None:
        listed = self.b.get("/people")
        self.assertEqual(ids(listed), {self.duty_b.pk})
        self.assertNotIn("陈老师", listed.content.decode())
        self.assertEqual(self.b.get("/people", q="陈").json()["items"], [])
        self.assertHidden(self.b.get("/people", unit=self.school_a.pk))
        for person in (self.principal_a, self.teacher_a, self.officer):
            self.assertHidden(self.b.get(f"/people/{person.pk}"))
            self.assertHidden(self.b.patch(f"/people/{person.pk}", {"name": "X"}))
        self.assertHidden(self.b.post("/people", {"unit_id": self.school_a.pk, "name": "X"}))

    def test_memberships(self) -> None:
        listed = self.b.get("/memberships")
        self.assertEqual(
            {m["unit_id"] for m in listed.json()["items"]}, {self.school_b.pk}, listed.content
        )
        self.assertEqual(self.b.get("/memberships", person=self.teacher_a.pk).json()["items"], [])
        self.assertHidden(self.b.get("/memberships", unit=self.school_a.pk))
        self.assertHidden(self.b.delete(f"/memberships/{self.membership_a.pk}"))
        self.assertHidden(
            self.b.post(
                "/memberships",
                {"person_id": self.teacher_a.pk, "unit_id": self.school_a.pk, "role": "staff"},
            )
        )
        self.assertTrue(Membership.objects.filter(pk=self.membership_a.pk).exists())

    def test_a_person_in_both_schools_is_shown_to_b_without_a(self) -> None:
        """B sees a shared person, but not their A membership, nor their full mobile."""
        Membership.objects.create(person=self.teacher_a, unit=self.school_b, role=Role.STAFF)
        person = self.b.get(f"/people/{self.teacher_a.pk}")
        self.assertEqual(person.status_code, 200)
        self.assertEqual(person.json()["mobile"], "139****0004")
        rows = self.b.get("/memberships", person=self.teacher_a.pk).json()["items"]
        self.assertEqual([(m["unit_id"], m["role"]) for m in rows], [(self.school_b.pk, "staff")])

    def test_export(self) -> None:
        response = self.client_for(self.duty_b).get("/orgs/export.xlsx")
        self.assertEqual(response.status_code, 200)
        wb = load_workbook(BytesIO(response.content))
        units = [row[1] for row in wb["单位"].iter_rows(min_row=4, values_only=True)]
        self.assertEqual(units, ["SB"])
        people = [row[1] for row in wb["人员"].iter_rows(min_row=4, values_only=True)]
        self.assertEqual(people, ["李值班"])
        text = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row)
        for secret in ("城关", "王校长", "陈老师", "13900000002"):
            self.assertNotIn(secret, text)

    def test_administrators_without_units_see_nothing(self) -> None:
        audit = self.api(self.auditadmin)
        self.assertEqual(audit.get("/units").json()["items"], [])
        self.assertEqual(audit.get("/areas").json()["items"], [])
        self.assertEqual(ids(audit.get("/people")), {self.auditadmin.pk})
        self.assertEqual(audit.get("/memberships").json()["items"], [])
        self.assertHidden(audit.get(f"/units/{self.school_a.pk}"))
        # The system administrator sees all, so does the security administrator.
        self.assertEqual(len(ids(self.api(self.sysadmin).get("/units"))), 5)
        self.assertEqual(len(ids(self.api(self.secadmin).get("/units"))), 5)
        self.assertEqual(
            self.api(self.secadmin).get(f"/people/{self.teacher_a.pk}").json()["mobile"],
            "139****0004",
        )


class KindNamesTest(ApiTestCase):
    def test_every_kind_can_be_created_where_it_fits(self) -> None:
        client = self.api(self.officer)
        parent_for = {
            UnitKind.GROUP: self.bureau,
            UnitKind.SCHOOL: self.group_1,
            UnitKind.KINDERGARTEN: self.group_2,
            UnitKind.DEPARTMENT: self.school_a,
        }
        for n, (kind, parent) in enumerate(parent_for.items()):
            response = client.post(
                "/units", {"parent_id": parent.pk, "code": f"K{n}", "name": f"K{n}", "kind": kind}
            )
            self.assertEqual(response.status_code, 201, (kind, response.content))
