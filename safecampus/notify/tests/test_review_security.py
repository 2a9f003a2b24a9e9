"""Review: SSRF checks, robot secrets, the no-login ack link, odd ids, B cannot see A."""

import http.server
import json
import socket
import threading
from unittest import mock

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase, override_settings
from django.urls import reverse

from safecampus.lib import http as safe_http
from safecampus.notify import services
from safecampus.notify.models import AllowedNetwork, Delivery, Transport
from safecampus.notify.transports import TransportError, post, validate_url
from safecampus.orgs.services import token_issue
from safecampus.test import BaseTestCase

HUGE = "99999999999999999999999"


def _addrinfo(*ips):
    return [
        (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 80))
        for ip in ips
    ]


class AddressCheckTest(SimpleTestCase):
    def test_private_and_reserved_addresses_are_refused(self):
        for host in (
            "127.0.0.1",
            "0.0.0.0",  # noqa: S104
            "10.1.2.3",
            "169.254.169.254",
            "100.100.100.200",  # Aliyun ECS metadata service (shared address space)
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2130706433",  # 127.0.0.1 written as one number
            "0177.0.0.1",  # octal
            "0x7f.0.0.1",
        ):
            with self.assertRaises(safe_http.BlockedAddress, msg=host):
                safe_http.resolve_checked(host, 80)

    def test_public_address_passes_and_an_allowed_range_opens_a_private_one(self):
        self.assertEqual(safe_http.resolve_checked("1.1.1.1", 443), "1.1.1.1")
        self.assertEqual(safe_http.resolve_checked("10.1.2.3", 80, ["10.0.0.0/8"]), "10.1.2.3")

    def test_mixed_dns_answer_connects_only_to_the_checked_address(self):
        with (
            mock.patch.object(
                safe_http.socket, "getaddrinfo", return_value=_addrinfo("127.0.0.1", "1.1.1.1")
            ),
            mock.patch.object(
                safe_http.socket, "create_connection", side_effect=OSError("stop")
            ) as connect,
            self.assertRaises(safe_http.RequestFailed),
        ):
            safe_http.post_json("http://mixed.example/hook", {})
        self.assertEqual(connect.call_args[0][0], ("1.1.1.1", 80))

    def test_spaces_and_control_characters_in_a_url_are_refused(self):
        for url in ("http://example.com/a b", "http://example.com/a\x01b"):
            with self.assertRaises(ValueError, msg=url):
                safe_http.check_url(url)


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])
class RedirectTest(SimpleTestCase):
    def test_a_redirect_is_not_followed_nor_taken_for_delivered(self):
        server = http.server.HTTPServer(("127.0.0.1", 0), _Redirect)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        with self.assertRaises(TransportError) as caught:
            post(f"http://127.0.0.1:{server.server_port}/hook", {"x": 1})
        self.assertIn("302", str(caught.exception))


class SecretInErrorTest(SimpleTestCase):
    def test_a_url_that_would_echo_the_key_in_an_error_is_refused_when_saved(self):
        with self.assertRaises(ValidationError):
            validate_url("https://qyapi.weixin.qq.com/cgi bin/webhook/send")


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])
class NotifyAccessTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.robot_a = services.channel_create(
            by=self.principal_a,
            unit=self.school_a,
            kind="webhook",
            name="城关值班群",
            config={"url": "http://127.0.0.1:9/hook", "secret": "s" * 20 + "TOPSECRET"},
        )
        self.notification = services.notification_create(
            event="test",
            title="防溺水提醒",
            body="请加强巡查。<script>alert(1)</script>",
            unit=self.school_a,
            sender=self.principal_a,
            people=[self.teacher_a],
            channels=[self.robot_a],
            requires_ack=True,
        )

    def api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def test_b_cannot_see_a_through_any_page_or_endpoint(self):
        inbox_row = self.notification.deliveries.get(transport=Transport.INBOX)
        page = self.client_for(self.duty_b)
        for url in (
            reverse("notify:notification", args=[self.notification.pk]),
            reverse("notify:inbox-item", args=[inbox_row.pk]),
            reverse("notify:channels", args=[self.school_a.pk]),
            reverse("notify:channel-edit", args=[self.robot_a.pk]),
        ):
            self.assertEqual(page.get(url).status_code, 404, url)
        self.assertNotContains(page.get(reverse("notify:sent")), "防溺水提醒")
        api = self.api(self.duty_b)
        for url in (
            f"/api/v1/notifications/{self.notification.pk}",
            f"/api/v1/channels?unit={self.school_a.pk}",
        ):
            self.assertEqual(api.get(url).status_code, 404, url)
        self.assertEqual(api.post(f"/api/v1/inbox/{inbox_row.pk}/ack").status_code, 404)
        self.assertEqual(api.post(f"/api/v1/channels/{self.robot_a.pk}/test").status_code, 404)
        patched = api.patch(
            f"/api/v1/channels/{self.robot_a.pk}",
            {"name": "x", "config": {"url": "http://127.0.0.1:9/evil"}},
            content_type="application/json",
        )
        self.assertEqual(patched.status_code, 404)
        made = api.post(
            "/api/v1/channels",
            {
                "unit_id": self.school_a.pk,
                "kind": "webhook",
                "name": "x",
                "config": {"url": "http://127.0.0.1:9/x"},
            },
            content_type="application/json",
        )
        self.assertEqual(made.status_code, 404)
        self.assertEqual(api.get("/api/v1/inbox").json()["items"], [])

    def test_a_member_who_is_no_manager_cannot_connect_or_test_robots(self):
        api = self.api(self.teacher_a)
        made = api.post(
            "/api/v1/channels",
            {
                "unit_id": self.school_a.pk,
                "kind": "webhook",
                "name": "x",
                "config": {"url": "http://127.0.0.1:9/x"},
            },
            content_type="application/json",
        )
        self.assertEqual(made.status_code, 403)
        self.assertEqual(api.post(f"/api/v1/channels/{self.robot_a.pk}/test").status_code, 403)
        page = self.client_for(self.teacher_a)
        self.assertEqual(
            page.post(reverse("notify:channel-test", args=[self.robot_a.pk])).status_code, 403
        )
        self.assertEqual(
            page.get(reverse("notify:channel-new", args=[self.school_a.pk])).status_code, 403
        )

    def test_the_recipient_sees_only_their_own_delivery(self):
        data = self.api(self.teacher_a).get(f"/api/v1/notifications/{self.notification.pk}")
        self.assertEqual(data.status_code, 200)
        self.assertEqual([d["person_id"] for d in data.json()["deliveries"]], [self.teacher_a.pk])

    def test_robot_secrets_never_leave_the_server(self):
        for response in (
            self.api(self.principal_a).get(f"/api/v1/channels?unit={self.school_a.pk}"),
            self.client_for(self.principal_a).get(
                reverse("notify:channel-edit", args=[self.robot_a.pk])
            ),
            self.client_for(self.principal_a).get(
                reverse("notify:channels", args=[self.school_a.pk])
            ),
        ):
            self.assertEqual(response.status_code, 200)
            self.assertNotIn(b"TOPSECRET", response.content)
        from safecampus.audit.models import AuditEntry

        trail = json.dumps(list(AuditEntry.objects.values_list("changes", flat=True)))
        self.assertNotIn("TOPSECRET", trail)

    def test_user_text_is_escaped(self):
        inbox_row = self.notification.deliveries.get(transport=Transport.INBOX)
        page = self.client_for(self.teacher_a).get(
            reverse("notify:inbox-item", args=[inbox_row.pk])
        )
        self.assertNotContains(page, "<script>alert(1)")
        self.assertContains(page, "&lt;script&gt;")

    def test_huge_and_odd_ids_are_404(self):
        page = self.client_for(self.principal_a)
        for url in (
            f"/notify/inbox/{HUGE}/",
            f"/notify/notifications/{HUGE}/",
            f"/notify/units/{HUGE}/channels/",
            f"/notify/channels/{HUGE}/",
        ):
            self.assertEqual(page.get(url).status_code, 404, url)
        self.assertEqual(page.post(f"/notify/channels/{HUGE}/test/").status_code, 404)
        api = self.api(self.principal_a)
        for url in (f"/api/v1/notifications/{HUGE}", f"/api/v1/channels?unit={HUGE}"):
            response = api.get(url)
            self.assertEqual(response.status_code, 404, url)
            self.assertEqual(response.json()["errors"], [], url)
        self.assertEqual(api.post(f"/api/v1/inbox/{HUGE}/ack").status_code, 404)

    def test_removing_an_allowed_network_that_is_not_there_changes_nothing(self):
        admin = self.client_for(self.sysadmin)
        services.allowed_network_add(by=self.sysadmin, cidr="10.1.2.0/24", note="校内")
        # Not a number: 404. A number of no row: nothing to remove, back to the page.
        bad = admin.post(reverse("notify:settings"), {"form": "net-remove", "pk": "abc"})
        self.assertEqual(bad.status_code, 404)
        huge = admin.post(reverse("notify:settings"), {"form": "net-remove", "pk": HUGE})
        self.assertRedirects(huge, reverse("notify:settings"), fetch_redirect_response=False)
        self.assertEqual(
            list(AllowedNetwork.objects.values_list("cidr", flat=True)), ["10.1.2.0/24"]
        )


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])
class AckLinkTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.teacher_a.email = "teacher@example.edu.cn"
        self.teacher_a.save()
        self.notification = services.notification_create(
            event="test",
            title="寒潮预警",
            body="注意防寒。",
            unit=self.school_a,
            people=[self.teacher_a, self.principal_a],
            requires_ack=True,
        )
        self.email = self.notification.deliveries.get(
            person=self.teacher_a, transport=Transport.EMAIL
        )

    def test_token_has_enough_entropy_and_differs_per_delivery(self):
        tokens = list(Delivery.objects.values_list("ack_token", flat=True))
        self.assertEqual(len(tokens), len(set(tokens)))
        self.assertTrue(all(len(t) >= 32 for t in tokens))

    def test_get_does_not_acknowledge_and_post_works_without_a_session_through_csrf(self):
        client = self.client_class(enforce_csrf_checks=True)
        url = reverse("ack", args=[self.email.ack_token])
        page = client.get(url)
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, "teacher@example.edu.cn")
        self.assertNotContains(page, self.principal_a.name)
        self.email.refresh_from_db()
        self.assertIsNone(self.email.acknowledged_at)
        self.assertEqual(client.post(url).status_code, 403)  # no CSRF token: refused
        token = client.cookies["csrftoken"].value
        self.assertEqual(client.post(url, {"csrfmiddlewaretoken": token}).status_code, 200)
        self.email.refresh_from_db()
        self.assertIsNotNone(self.email.acknowledged_at)
        # Only this recipient: the principal has not acknowledged.
        self.assertFalse(
            self.notification.deliveries.filter(
                person=self.principal_a, acknowledged_at__isnull=False
            ).exists()
        )

    def test_a_message_that_asks_for_no_ack_has_no_link(self):
        other = services.notification_create(
            event="test", title="t", body="b", people=[self.teacher_a]
        )
        row = other.deliveries.first()
        self.assertEqual(
            self.client_class().get(reverse("ack", args=[row.ack_token])).status_code, 404
        )
