"""Notifications' own settings, read once from the service's environment (via ``Settings``).

A missing or malformed value raises :class:`ConfigError` naming the variable, in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.domain.recipients import InvalidQuietHours, QuietHours, parse_clock
from notifications.domain.sms import indiscreet_words
from peerlink.config import ConfigError, Settings, parse_durations, require_url

DEFAULT_SEND_RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps", "log")
SMS_SCHEMES = ("https", "http", "log")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# GOV.UK Notify's key format: <key name>-<service id>-<secret>, both UUIDs.
_NOTIFY_KEY = re.compile(r"^.+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-([0-9a-f-]{36})$")


@dataclass(frozen=True)
class SmsProviderSettings:
    url: str  # the provider's base URL, or "log:"
    service_id: str = ""
    secret: str = ""
    template_id: str = ""
    sender_id: str | None = None

    @property
    def is_log(self) -> bool:
        return self.url.startswith("log:")


@dataclass(frozen=True)
class NotificationSettings:
    zone: ZoneInfo
    quiet_hours: QuietHours | None
    reminder_before: timedelta | None  # None: no reminders
    digest_at: time
    send_retry_delays: tuple[timedelta, ...]
    inbound_poll: float  # seconds; 0: do not read inbound texts
    email_senders: int  # emails sent at once (each its own SMTP connection)
    sms_senders: int


def load(settings: Settings) -> NotificationSettings:
    env = settings.extra
    before = _one_duration("PEERLINK_REMINDER_BEFORE", env.get("PEERLINK_REMINDER_BEFORE", ""), 24 * 3600)
    return NotificationSettings(
        zone=_zone(settings.optional("PEERLINK_TIMEZONE") or "Europe/London"),
        quiet_hours=_quiet_hours(settings.optional("PEERLINK_QUIET_HOURS")),
        reminder_before=timedelta(seconds=before) if before else None,
        digest_at=_clock("PEERLINK_DIGEST_AT", settings.optional("PEERLINK_DIGEST_AT") or "08:00"),
        send_retry_delays=tuple(
            timedelta(seconds=s)
            for s in parse_durations("PEERLINK_SEND_RETRY_DELAYS", env.get("PEERLINK_SEND_RETRY_DELAYS", ""))
        )
        or DEFAULT_SEND_RETRY_DELAYS,
        inbound_poll=_one_duration("PEERLINK_SMS_INBOUND_POLL", env.get("PEERLINK_SMS_INBOUND_POLL", ""), 60.0),
        email_senders=_count("PEERLINK_EMAIL_SENDERS", env.get("PEERLINK_EMAIL_SENDERS", ""), 4),
        sms_senders=_count("PEERLINK_SMS_SENDERS", env.get("PEERLINK_SMS_SENDERS", ""), 2),
    )


def smtp_url(settings: Settings) -> str:
    return require_url(settings.extra, "PEERLINK_SMTP_URL", SMTP_SCHEMES)


def mail_from(settings: Settings) -> str:
    default = f"Peerlink {settings.site} <no-reply@{settings.site}.peerlink.invalid>"
    sender = settings.optional("PEERLINK_MAIL_FROM") or default
    if indiscreet_words(sender):
        raise ConfigError(f"PEERLINK_MAIL_FROM: the sender must not say why people are in touch ({sender!r})")
    return sender


def sms_provider(settings: Settings) -> SmsProviderSettings | None:
    """None when texts are not set up at this site (text deliveries are then recorded as skipped)."""
    url = settings.optional("PEERLINK_SMS_URL")
    if url is None:
        return None
    url = require_url(settings.extra, "PEERLINK_SMS_URL", SMS_SCHEMES)
    if url.startswith("log:"):
        return SmsProviderSettings(url="log:")
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ConfigError("PEERLINK_SMS_URL: plain http is only for a provider on this machine; use https")
    key = settings.optional("PEERLINK_SMS_API_KEY")
    if not key:
        raise ConfigError("PEERLINK_SMS_API_KEY is not set (the provider's API key, needed with PEERLINK_SMS_URL)")
    match = _NOTIFY_KEY.match(key)
    if not match:
        raise ConfigError("PEERLINK_SMS_API_KEY: expected a GOV.UK Notify-style key, <name>-<service id>-<secret>")
    template_id = settings.optional("PEERLINK_SMS_TEMPLATE_ID")
    if not template_id:
        raise ConfigError(
            "PEERLINK_SMS_TEMPLATE_ID is not set (the provider's text template whose whole content is ((body)))"
        )
    sender_id = settings.optional("PEERLINK_SMS_SENDER_ID")
    return SmsProviderSettings(
        url=url.rstrip("/"),
        service_id=match.group(1),
        secret=match.group(2),
        template_id=template_id,
        sender_id=sender_id,
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PEERLINK_TIMEZONE: {name!r} is not a time zone such as Europe/London") from None


def _quiet_hours(raw: str | None) -> QuietHours | None:
    if raw is None or raw.lower() in ("none", "off"):
        return None
    try:
        return QuietHours.parse(raw)
    except InvalidQuietHours as exc:
        raise ConfigError(f"PEERLINK_QUIET_HOURS: {exc}") from None


def _clock(name: str, raw: str) -> time:
    try:
        return parse_clock(raw)
    except InvalidQuietHours as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _count(name: str, raw: str, default: int) -> int:
    if not raw.strip():
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 32:
        raise ConfigError(f"{name}: {raw!r} is not a whole number from 1 to 32")
    return int(raw)


def _one_duration(name: str, raw: str, default: float) -> float:
    if raw.strip().lower() in ("0", "off"):
        return 0.0
    values = parse_durations(name, raw)
    if len(values) > 1:
        raise ConfigError(f"{name}: one duration such as 24h, got {raw!r}")
    return values[0] if values else default
