"""Email over SMTP (``PEERLINK_SMTP_URL``): smtp://, smtp+starttls:// or smtps://, with
optional user:password. Failures are sorted into worth retrying and not."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from peerlink.config import ConfigError


class TransientFailure(Exception):
    """Try again later (4xx, connection refused, timeout)."""


class PermanentFailure(Exception):
    """Will never work as it is (5xx, address rejected)."""


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    mode: str  # "plain", "starttls" or "tls"
    username: str | None
    password: str | None
    sender: str
    timeout: float = 15.0

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpSender:
        parts = urlsplit(url)
        modes = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
        if parts.scheme not in modes or not parts.hostname:
            raise ConfigError("PEERLINK_SMTP_URL must look like smtp://host:port, smtp+starttls://… or smtps://…")
        default_port = {"plain": 25, "starttls": 587, "tls": 465}[modes[parts.scheme]]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            mode=modes[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=sender,
        )

    def send(self, *, to: str, subject: str, body: str, message_id: str, language: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        # Stable per delivery: a resend after a crash carries the same id, so mail clients
        # that see both can tell they are one message.
        message["Message-ID"] = message_id
        message.set_content(body)
        # After set_content, which replaces every Content-* header.
        message["Content-Language"] = language
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            kind = TransientFailure if all(400 <= code < 500 for code in codes) else PermanentFailure
            raise kind(f"recipient refused: {codes}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        if self.mode == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.mode == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp
