"""Email over SMTP (``PEERLINK_SMTP_URL``): smtp://, smtp+starttls:// or smtps://, with optional
user:password. One connection is kept open while there is mail to send (a connection per
message costs a TCP and often a TLS handshake each) and closed when the sender goes idle.
Failures are sorted into worth retrying and not."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

from notifications.channels import Outgoing, PermanentFailure, Receipt, TransientFailure, redact
from peerlink.config import ConfigError

_WIRE = compat32.clone(linesep="\r\n")
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP

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

    def fresh(self) -> SmtpTransport:
        return SmtpTransport(
            self.host,
            self.port,
            self.mode,
            sender=self.sender,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )

    def send(self, message: Outgoing) -> Receipt:
        raw = self._email(message)
        try:
            reused = self._smtp is not None
            try:
                self._connection().sendmail(self._envelope_from, [message.to], raw)
            except smtplib.SMTPServerDisconnected:
                # A kept connection the server had closed while we were idle: once more, afresh.
                self._drop()
                if not reused:
                    raise
                self._connection().sendmail(self._envelope_from, [message.to], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise TransientFailure(f"recipient refused for now: {codes}") from exc
            raise PermanentFailure(f"recipient refused: {codes}", "invalid-address") from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            text = redact(said)
            if 400 <= exc.smtp_code < 500:
                raise TransientFailure(f"{exc.smtp_code} {text}") from exc
            bad_mailbox = any(text.startswith(code) for code in _BAD_MAILBOX)
            reason = "invalid-address" if bad_mailbox else "rejected-by-provider"
            raise PermanentFailure(f"{exc.smtp_code} {text}", reason) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TransientFailure(f"{type(exc).__name__}: {redact(str(exc))}") from exc
        return Receipt(provider="smtp", reference=message.message_id)

    def idle(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None

    def _email(self, message: Outgoing) -> bytes:
        """The message as it goes on the wire: plain text, UTF-8 (quoted-printable keeps Welsh
        readable in a raw message), built with the fast compat32 classes."""
        email = MIMEText(message.body, "plain", _UTF8)
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject if message.subject.isascii() else Header(message.subject, "utf-8").encode()
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message.message_id
        email["Content-Language"] = ", ".join(message.languages)
        # RFC 3834: an automatic message; well-behaved auto-responders do not answer it.
        email["Auto-Submitted"] = "auto-generated"
        if message.kind:
            # For the recipient's own mail rules (e.g. coordinators filing new referrals).
            email["X-Peerlink-Kind"] = message.kind
        return email.as_bytes(policy=_WIRE)  # CRLF: smtplib sends bytes as they are

    @property
    def _envelope_from(self) -> str:
        return parseaddr(self.sender)[1]

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
