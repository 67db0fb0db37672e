"""Email over SMTP (``PEERLINK_SMTP_URL``): smtp://, smtp+starttls:// or smtps://, with optional
user:password. One connection is kept open while there is mail to send (a connection per
message costs a TCP and often a TLS handshake each) and closed when the sender goes idle.
Failures are sorted into worth retrying and not."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from notifications.channels import Outgoing, PermanentFailure, Receipt, TransientFailure
from peerlink.config import ConfigError

# Reply codes (RFC 3463 enhanced codes) that mean the address itself is wrong.
_BAD_MAILBOX = ("5.1.1", "5.1.2", "5.1.3", "5.1.10")


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        mode: str,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 15.0,
    ):
        self.name = "smtp"
        self.host = host
        self.port = port
        self.mode = mode  # "plain", "starttls" or "tls"
        self.sender = sender
        self.username = username
        self.password = password
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpTransport:
        parts = urlsplit(url)
        modes = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
        if parts.scheme not in modes or not parts.hostname:
            raise ConfigError("PEERLINK_SMTP_URL must look like smtp://host:port, smtp+starttls://… or smtps://…")
        mode = modes[parts.scheme]
        return cls(
            parts.hostname,
            parts.port or {"plain": 25, "starttls": 587, "tls": 465}[mode],
            mode,
            sender=sender,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def send(self, message: Outgoing) -> Receipt:
        email = self._email(message)
        try:
            reused = self._smtp is not None
            try:
                self._connection().send_message(email)
            except smtplib.SMTPServerDisconnected:
                # A kept connection the server had closed while we were idle: once more, afresh.
                self._drop()
                if not reused:
                    raise
                self._connection().send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise TransientFailure(f"recipient refused for now: {codes}") from exc
            raise PermanentFailure(f"recipient refused: {codes}", "invalid-address") from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise TransientFailure(f"{exc.smtp_code} {text}") from exc
            bad_mailbox = any(text.startswith(code) for code in _BAD_MAILBOX)
            reason = "invalid-address" if bad_mailbox else "rejected-by-provider"
            raise PermanentFailure(f"{exc.smtp_code} {text}", reason) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc
        return Receipt(provider="smtp", reference=message.message_id)

    def idle(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None

    def _email(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message.message_id
        # RFC 3834: an automatic message; well-behaved auto-responders do not answer it.
        email["Auto-Submitted"] = "auto-generated"
        if message.kind:
            # For the recipient's own mail rules (e.g. coordinators filing new referrals).
            email["X-Peerlink-Kind"] = message.kind
        email.set_content(message.body)
        # After set_content, which replaces every Content-* header.
        email["Content-Language"] = ", ".join(message.languages)
        return email

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            if self.mode == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.mode == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            self._smtp = smtp
        return self._smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None
