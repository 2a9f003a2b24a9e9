"""Email over SMTP (Django's backend, with EMAIL_TIMEOUT: never wait forever)."""

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from safecampus.notify.transports import Message, Transport, TransportError


class EmailTransport(Transport):
    kind = "email"

    def send(self, message: Message, address: str) -> None:
        if not address:
            raise TransportError("no email address", permanent=True)
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
            from smtplib import SMTPRecipientsRefused

            raise TransportError(
                f"{type(exc).__name__}: {exc}", permanent=isinstance(exc, SMTPRecipientsRefused)
            ) from None
