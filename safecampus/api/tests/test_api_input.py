"""Odd input on every endpoint, walked from the OpenAPI schema: always a 4xx in the API's
shape naming the field, never a 500 or a success. Errors from outside the endpoints (a
URL or method the API does not have, a request too large, a crash) in the same shape.
The schema documents those errors, and every reason speaks the caller's language."""

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

from django.test import Client, override_settings
from django.utils import translation

from safecampus.api import errors
from safecampus.api.tests.test_api import API, ApiClient, ApiTestCase

HUGE = str(2**70)


class Operation:
    def __init__(self, path: str, method: str, spec: dict[str, Any]) -> None:
        self.path, self.method, self.spec = path.removeprefix(API), method, spec
        self.params = spec.get("parameters", [])
        self.path_params = [p["name"] for p in self.params if p["in"] == "path"]
        self.query_params = [p for p in self.params if p["in"] == "query"]
        self.takes_body = "requestBody" in spec
        # multipart endpoints (photos, an Excel import) read files, not a JSON body
        self.takes_json = "application/json" in spec.get("requestBody", {}).get("content", {})

    def __repr__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def url(self, **values: Any) -> str:
        url = self.path
        for name in self.path_params:
            url = url.replace("{" + name + "}", str(values.get(name, 1)))
        return url


def query_type(param: dict[str, Any]) -> tuple[str | None, str | None]:
    """(type, format) of a query parameter, optional or not."""
    schema = param["schema"]
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") not in (None, "null"):
            return option["type"], option.get("format")
    return None, None


class ApiWalkTestCase(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.officer_api = self.api(self.officer)

    def operations(self) -> Iterator[Operation]:
        schema = self.officer_api.get("/openapi.json").json()
        for path, methods in schema["paths"].items():
            for method, spec in methods.items():
                yield Operation(path, method, spec)

    def send(self, client: ApiClient, op: Operation, url: str, body: str | None = None) -> Any:
        if op.method == "get":
            return client.client.get(API + url, headers=client.headers)
        return getattr(client.client, op.method)(
            API + url, "{}" if body is None else body, "application/json", headers=client.headers
        )

    def assertApiError(self, response: Any, status: int, field: str | None = None) -> dict:
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response["Content-Type"], "application/json; charset=utf-8")
        body = response.json()
        self.assertIsInstance(body["detail"], str)
        self.assertTrue(body["detail"])
        self.assertIsInstance(body["errors"], list)
        if field is not None:
            self.assertIn(field, {e["field"] for e in body["errors"]}, body)
        return body


class EveryEndpointRefusesOddInputTest(ApiWalkTestCase):
    def test_the_walk_covers_every_router(self) -> None:
        paths = {op.path for op in self.operations()}
        for path in ("/auth/token", "/units/{unit_id}", "/daily-reports", "/notices", "/inbox"):
            self.assertIn(path, paths)

    def test_ids_in_paths_beyond_any_row_are_404_and_not_numbers_422(self) -> None:
        checked = 0
        for op in self.operations():
            for name in op.path_params:
                for value in (HUGE, str(2**63), "0", "-1", "x", "1.5", "1e3"):
                    response = self.send(self.officer_api, op, op.url(**{name: value}))
                    with self.subTest(op=op, value=value):
                        if not name.endswith("_id"):  # a year, a date: 404 or 422 naming it
                            status = response.status_code
                            self.assertIn(status, (404, 422))
                            self.assertApiError(response, status, name if status == 422 else None)
                        elif value in ("x", "1.5", "1e3"):
                            self.assertApiError(response, 422, name)
                        elif op.takes_body and response.status_code == 422:
                            pass  # the body ("{}") is validated before the row is looked up
                        else:
                            self.assertApiError(response, 404)
                            checked += 1
        self.assertGreater(checked, 40)

    def test_odd_query_values_are_422_naming_the_parameter(self) -> None:
        odd = {
            "integer": ["x", "1.5", HUGE + "0" * 5000, ""],
            "boolean": ["maybe", "2"],
            "string/date": ["0", "20260101", "2026-01-01T00:00", "2026-02-30", "1.5"],
        }
        checked = set()
        for op in self.operations():
            for param in op.query_params:
                kind, fmt = query_type(param)
                for value in odd.get(f"{kind}/{fmt}" if fmt else kind or "", []):
                    if value == "" and not param.get("required"):
                        continue  # an empty optional value is no value
                    url = f"{op.url(unit_id=self.school_a.pk)}?{param['name']}={value}"
                    with self.subTest(op=op, param=param["name"], value=value[:20]):
                        response = self.send(self.officer_api, op, url)
                        self.assertApiError(response, 422, param["name"])
                    checked.add(f"{op} {param['name']}")
        self.assertIn("GET /daily-reports date_to", checked)
        self.assertIn("GET /daily-reports/trend start", checked)

    def test_huge_and_negative_numbers_in_queries_are_4xx_never_500(self) -> None:
        for op in self.operations():
            for param in op.query_params:
                if query_type(param)[0] != "integer":
                    continue
                for value in (HUGE, str(2**63), "-1", "0"):
                    url = f"{op.url()}?{param['name']}={value}"
                    response = self.send(self.officer_api, op, url)
                    self.assertLess(response.status_code, 500, (op, param["name"], value))
                    if response.status_code >= 400:
                        self.assertApiError(response, response.status_code)
        for params in ({"limit": -1}, {"offset": -1}, {"limit": 0}, {"limit": HUGE}):
            name = next(iter(params))
            self.assertApiError(self.officer_api.get("/people", **params), 422, name)
        self.assertApiError(self.officer_api.get("/people", unit=HUGE), 404)
        self.assertApiError(self.officer_api.get("/areas", unit=2**63), 404)
        self.assertApiError(self.officer_api.get("/channels", unit=HUGE), 404)

    def test_a_body_that_is_not_a_json_object_is_400_naming_the_body(self) -> None:
        bodies = {
            "[null, null]": "must be a JSON object",
            '"abc"': "must be a JSON object",
            "5": "must be a JSON object",
            "null": "must be a JSON object",
            "{nope": "not valid JSON",
            "\xff\xfe": "not valid JSON",
            "[" * 3000 + "]" * 3000: "nested too deeply",
            '{"a": ' * 3000 + "1" + "}" * 3000: "nested too deeply",
        }
        units_before = sorted(self.school_a.__class__.objects.values_list("name", "code"))
        with_body = [op for op in self.operations() if op.takes_json]
        self.assertGreaterEqual(len(with_body), 10)
        for op in with_body:
            for body, reason in bodies.items():
                response = self.send(self.officer_api, op, op.url(unit_id=self.school_a.pk), body)
                with self.subTest(op=op, body=body[:12]):
                    answer = self.assertApiError(response, 400, "body")
                    self.assertIn(reason, answer["errors"][0]["reason"])
        # The PATCHes of `[null, null]` changed nothing and said so.
        self.assertEqual(
            sorted(self.school_a.__class__.objects.values_list("name", "code")), units_before
        )

    def test_a_null_character_deep_in_a_body_is_4xx_at_any_depth(self) -> None:
        # The parser walks the body for a NUL only after json.loads took it, from a
        # deeper stack: near Python's recursion limit either may give up, never a 500.
        url = f"/units/{self.school_a.pk}"
        for depth in (10, 500, 900, 950, 980, 995, 1100):
            body = '{"address": ' + "[" * depth + '"\\u0000"' + "]" * depth + "}"
            response = self.officer_api.patch(url, body)
            status = response.status_code
            self.assertIn(status, (400, 422), depth)
            self.assertApiError(response, status, "body" if status == 400 else None)
            if status == 422:
                self.assertTrue(response.json()["errors"][0]["field"].startswith("address"))
        self.assertError(self.officer_api.patch(url, {"address": "a\u0000"}), 422, "address")

    def test_a_deep_body_with_a_made_up_token_is_401(self) -> None:
        stranger = ApiClient("made-up")
        deep = "[" * 3000 + "]" * 3000
        for op in self.operations():
            if op.takes_body and op.spec.get("security"):
                self.assertApiError(self.send(stranger, op, op.url(), deep), 401)

    def test_array_bodies_of_the_issue(self) -> None:
        for path in (
            f"/units/{self.school_a.pk}",
            f"/areas/{self.area_a.pk}",
            f"/people/{self.teacher_a.pk}",
        ):
            response = self.officer_api.patch(path, [None, None])
            body = self.assertApiError(response, 400, "body")
            self.assertEqual(body["errors"][0]["reason"], "The body must be a JSON object.")
        body = self.assertApiError(self.officer_api.get("/daily-reports", date_to=0), 422)
        self.assertEqual(
            body["errors"], [{"field": "date_to", "reason": "Enter a date as YYYY-MM-DD."}]
        )
        ok = self.officer_api.get("/daily-reports", date_to="2026-01-01")
        self.assertEqual(ok.status_code, 200, ok.content)

    def test_a_number_is_not_a_date_in_a_body_either(self) -> None:
        report = {"unit": self.school_a.pk, "date": 0, "zero": True}
        self.assertApiError(self.officer_api.post("/daily-reports", report), 422, "date")
        for date in ("2026-01-01T00:00", "20260101", "0"):
            report["date"] = date
            self.assertApiError(self.officer_api.post("/daily-reports", report), 422, "date")
        notice = {"unit_id": self.bureau.pk, "title": "汛期", "body": "请防汛。"}
        for deadline in (4102444800, "4102444800", "2099-01-01", True):
            notice |= {"requires_ack": True, "ack_deadline": deadline}
            response = self.officer_api.post("/notices", notice)
            body = self.assertApiError(response, 422, "ack_deadline")
            self.assertIn("YYYY-MM-DDTHH:MM", body["errors"][0]["reason"])


class ErrorsFromOutsideTheEndpointsTest(ApiWalkTestCase):
    def test_a_request_too_large_is_413_naming_the_body(self) -> None:
        big = json.dumps({"name": "x" * (11 * 1024 * 1024)})
        response = self.officer_api.patch(f"/units/{self.school_a.pk}", big)
        body = self.assertApiError(response, 413, "body")
        self.assertIn("at most 10 MB", body["detail"])

    def test_a_request_django_cannot_read_is_400(self) -> None:
        fields = "&".join(f"f{i}=1" for i in range(1100))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
        response = self.officer_api.client.get(
            f"{API}/units?{fields}", headers=self.officer_api.headers
        )
        self.assertApiError(response, 400)

    def test_an_address_the_api_does_not_have_is_404(self) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        for path in (f"{API}/nope", f"{API}/units/{self.school_a.pk}/nope", "/api/v2/units"):
            body = self.assertApiError(client.get(path), 404)
            self.assertEqual(body["detail"], "Not found.")
        page = client.get("/nope/")  # outside the API: the site's page
        self.assertEqual(page.status_code, 404)
        self.assertTrue(page["Content-Type"].startswith("text/html"))

    def test_a_method_a_path_does_not_take_is_405_with_allow(self) -> None:
        response = self.officer_api.client.put(
            f"{API}/units/{self.school_a.pk}", "{}", "application/json"
        )
        self.assertApiError(response, 405)
        self.assertEqual(set(response["Allow"].split(", ")), {"GET", "PATCH", "DELETE"})
        response = self.officer_api.client.delete(f"{API}/daily-reports")
        self.assertApiError(response, 405)

    def test_a_crash_is_500_in_the_api_shape_and_a_page_elsewhere(self) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
        headers = self.officer_api.headers
        with (
            mock.patch("safecampus.orgs.access.units_visible", side_effect=RuntimeError("boom")),
            self.assertLogs("django.request", "ERROR"),
        ):
            response = client.get(f"{API}/units", headers=headers)
        body = self.assertApiError(response, 500)
        self.assertNotIn("boom", body["detail"])
        with (
            mock.patch("safecampus.dashboards.views.render", side_effect=RuntimeError("boom")),
            self.assertLogs("django.request", "ERROR"),
        ):
            client.force_login(self.officer)
            page = client.get("/")
        self.assertEqual(page.status_code, 500)
        self.assertTrue(page["Content-Type"].startswith("text/html"))

    def test_the_answers_from_outside_speak_the_callers_language(self) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        with translation.override("zh-hans"):
            expected = translation.gettext("Not found.")
        self.assertNotEqual(expected, "Not found.")
        self.assertEqual(client.get(f"{API}/nope").json()["detail"], expected)


class SchemaDocumentsTheErrorsTest(ApiWalkTestCase):
    def test_every_operation_documents_the_errors_it_can_answer(self) -> None:
        schema = self.officer_api.get("/openapi.json").json()
        error = schema["components"]["schemas"]["Error"]
        self.assertEqual(set(error["required"]), {"detail", "errors"})
        self.assertEqual(
            set(error["properties"]["errors"]["items"]["required"]), {"field", "reason"}
        )
        missing = []
        for op in self.operations():
            responses = op.spec["responses"]
            needed = set()
            if op.spec.get("security"):
                needed |= {"401", "403"}
            if op.path_params:
                needed.add("404")
            if op.params or op.takes_body:
                needed.add("422")
            if op.takes_body:
                needed.add("400")
            missing += [f"{op} {status}" for status in sorted(needed - set(responses))]
            for status, answer in responses.items():
                if int(status) >= 400:
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    self.assertEqual(ref, "#/components/schemas/Error", (op, status))
        self.assertEqual(missing, [])
        token = schema["paths"][f"{API}/auth/token"]["post"]["responses"]
        self.assertTrue({"401", "403", "429"} <= set(token))

    @override_settings(DEBUG=False)
    def test_the_documented_errors_are_the_answers(self) -> None:
        op = f"{API}/units/{{unit_id}}"
        documented = self.officer_api.get("/openapi.json").json()["paths"][op]["patch"]
        url = f"/units/{self.school_a.pk}"
        answers = {
            "400": self.officer_api.patch(url, "[1]"),
            "401": ApiClient("made-up").patch(url, {}),
            "403": self.api(self.duty_b).patch(f"/units/{self.school_b.pk}", {"name": "x"}),
            "404": self.officer_api.patch(f"/units/{HUGE}", {}),
            "422": self.officer_api.patch(url, {"name": ""}),
        }
        for status, response in answers.items():
            self.assertIn(status, documented["responses"])
            self.assertApiError(response, int(status))


class ReasonsInTheCallersLanguageTest(ApiWalkTestCase):
    BODY = {"parent_id": "x", "code": 5, "name": "校" * 101, "address": "", "head_id": -1.5}

    def reasons(self, language: str) -> dict[str, str]:
        client = ApiClient(self.officer_api.headers["Authorization"].split()[1])
        client.client = Client(HTTP_ACCEPT_LANGUAGE=language)
        body = self.assertApiError(client.post("/units", self.BODY), 422)
        return {e["field"]: e["reason"] for e in body["errors"]}

    def test_english(self) -> None:
        self.assertEqual(
            self.reasons("en"),
            {
                "parent_id": "Enter a whole number.",
                "code": "Enter text.",
                "name": "Enter at most 100 characters.",
                "kind": "This field is required.",
                "head_id": "Enter a whole number.",
            },
        )

    def test_chinese(self) -> None:
        self.assertEqual(
            self.reasons("zh-hans"),
            {
                "parent_id": "请输入整数。",
                "code": "请输入文字。",
                "name": "最多输入 100 个字符。",
                "kind": "此项为必填项。",
                "head_id": "请输入整数。",
            },
        )

    def test_every_known_pydantic_error_type_has_a_chinese_reason(self) -> None:
        ctx = {"min_length": 2, "max_length": 2, "ge": 1, "gt": 1, "le": 9, "lt": 9}
        ctx["expected"] = "'a' or 'b'"
        for kind in errors._REASONS:
            error = {"type": kind, "ctx": ctx, "msg": "English"}
            with translation.override("en"):
                english = errors.reason_for(error)
            with translation.override("zh-hans"):
                chinese = errors.reason_for(error)
            self.assertNotEqual(english, chinese, kind)
            self.assertNotIn("%(", chinese, kind)
            self.assertRegex(chinese, r"[\u4e00-\u9fff]", kind)

    def test_an_unknown_type_falls_back_and_our_own_messages_stay(self) -> None:
        with translation.override("zh-hans"):
            self.assertEqual(
                errors.reason_for({"type": "something_new", "msg": "Some English"}), "此值无效。"
            )
            own = {"type": "value_error", "ctx": {"error": "单位已归档。"}, "msg": "Value error, x"}
            self.assertEqual(errors.reason_for(own), "单位已归档。")
            broken = {"type": "greater_than_equal", "ctx": {}, "msg": "x"}
            self.assertEqual(errors.reason_for(broken), "此值无效。")

    def test_a_refused_body_speaks_chinese_too(self) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        response = client.patch(
            f"{API}/units/{self.school_a.pk}",
            "[null]",
            "application/json",
            headers=self.officer_api.headers,
        )
        body = self.assertApiError(response, 400, "body")
        self.assertEqual(body["errors"][0]["reason"], "请求正文必须是一个 JSON 对象。")
