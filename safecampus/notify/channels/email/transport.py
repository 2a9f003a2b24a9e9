"""Email over SMTP (Django's backend, with EMAIL_TIMEOUT: never wait forever)."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.translation import gettext as _

from safecampus.notify.transports import Message, Transport, TransportError


def _is_permanent(exc: OSError) -> bool:
    """5xx answers cannot be helped by retrying (no such mailbox, rejected, bad login);
    4xx answers, refused connections and timeouts can."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


class EmailTransport(Transport):
    kind = "email"

    def send(self, message: Message, address: str) -> None:
        if not address:
            raise TransportError(_("no email address"), permanent=True)
        body = message.text()
        if message.link:
            body += f"\n\n{settings.SITE_URL.rstrip('/')}{message.link}"
        email = EmailMessage(
            subject=f"【平安校园】{message.title}",
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            # One key across retries: a mail client (and our tests) can tell a repeat.
            headers={
                "X-Idempotency-Key": message.idempotency_key,
                "Message-ID": f"<{message.idempotency_key}@safecampus>",
            },
        )
        try:
            get_connection(timeout=settings.EMAIL_TIMEOUT).send_messages([email])
        except OSError as exc:  # refused, timed out, TLS, SMTP errors (smtplib.SMTPException)
            raise TransportError(
                f"{type(exc).__name__}: {exc}", permanent=_is_permanent(exc)
            ) from None
