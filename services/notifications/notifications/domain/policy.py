"""Whether a delivery goes now, later, or not at all: the rules, in the order they apply.

Each owed delivery (one message, one recipient, one channel) is decided when it falls due,
with what is known then, so the order in which events arrived does not matter: a message
waits for contact details that have not come yet, consent is read as it is now, quiet hours
put it off (never away), and what is no longer true (a cancelled event) is not said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from notifications.domain.recipients import Preferences, QuietHours, Recipient

# Skips: nothing went, on purpose (recorded with the reason, no event).
NO_CONSENT = "no-consent"
NOT_CHOSEN = "not-chosen"
OPTED_OUT = "opted-out"
NOT_SAFE_TO_TEXT = "not-safe-to-text"
SMS_STOPPED = "sms-stopped"
NO_CONTACT_DETAILS = "no-contact-details"
PERSON_ERASED = "person-erased"
CHANNEL_NOT_SET_UP = "channel-not-set-up"
NO_SMS_VERSION = "no-sms-version"
STALE = "no-longer-true"  # the event was cancelled or moved, the registration cancelled
# Failures: it should have gone and did not (recorded, ``notification.failed`` emitted).
INVALID_ADDRESS = "invalid-address"
REJECTED = "rejected-by-provider"
EXHAUSTED = "attempts-exhausted"
NOT_DISCREET = "not-discreet"
# Deferrals: still owed, due later.
WAITING_FOR_CONTACT = "waiting-for-contact"
WAITING_FOR_EVENT = "waiting-for-event"
QUIET_HOURS = "quiet-hours"
TEMPLATE_NOT_READY = "template-not-ready"
RETRYING = "retrying"
RATE_LIMITED = "rate-limited"

# Skips that mean the person could not be reached digitally (as opposed to having said no).
UNREACHABLE = frozenset({NO_CONSENT, NO_CONTACT_DETAILS, NOT_SAFE_TO_TEXT, CHANNEL_NOT_SET_UP})

# Coordinators may take these once a day, in a digest, instead of one by one.
DIGESTIBLE = frozenset({"referral-received-coordinator", "please-phone"})


@dataclass(frozen=True)
class Go:
    address: str


@dataclass(frozen=True)
class Skip:
    reason: str
    detail: str


@dataclass(frozen=True)
class Fail:
    reason: str
    detail: str


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str
    detail: str


@dataclass(frozen=True)
class IntoDigest:
    pass


Decision = Go | Skip | Fail | Defer | IntoDigest


@dataclass(frozen=True)
class Rules:
    zone: ZoneInfo
    site_quiet_hours: QuietHours | None = None
    wait_for_contact: timedelta = timedelta(seconds=30)
    give_up_waiting: timedelta = timedelta(days=7)
    template_recheck: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Owed:
    """What the rules need to know about one owed delivery."""

    kind: str
    channel: str
    audience: str
    created_at: datetime


def decide(
    owed: Owed,
    recipient: Recipient | None,
    preferences: Preferences,
    *,
    now: datetime,
    rules: Rules,
    channel_ready: bool,
    stale: str | None = None,
    template_problem: str | None = None,
    has_sms_version: bool = True,
) -> Decision:
    if stale:
        return Skip(STALE, stale)
    if recipient is None:
        if now - owed.created_at > rules.give_up_waiting:
            return Fail(NO_CONTACT_DETAILS, "no contact details arrived within a week")
        return Defer(now + rules.wait_for_contact, WAITING_FOR_CONTACT, "waiting for contact details")
    if recipient.erased:
        return Skip(PERSON_ERASED, "the person's data was erased")
    if owed.channel not in recipient.channels:
        return Skip(NO_CONSENT, f"has not agreed to {owed.channel}")
    if preferences.channels is not None and owed.channel not in preferences.channels:
        return Skip(NOT_CHOSEN, f"chose not to get messages by {owed.channel}")
    if owed.kind in preferences.opt_out:
        return Skip(OPTED_OUT, f"opted out of {owed.kind} messages")
    if owed.channel == "sms":
        if not recipient.safe_to_text:
            return Skip(NOT_SAFE_TO_TEXT, "not safe to text")
        if recipient.sms_stopped:
            return Skip(SMS_STOPPED, "texted STOP")
        if not has_sms_version:
            return Skip(NO_SMS_VERSION, f"{owed.kind} has no text version")
    address = recipient.email if owed.channel == "email" else recipient.phone
    if not address:
        return Skip(NO_CONTACT_DETAILS, f"agreed to {owed.channel} but no {_address_word(owed.channel)} is known")
    if not channel_ready:
        return Skip(CHANNEL_NOT_SET_UP, f"{owed.channel} is not set up at this site")
    if owed.audience == "coordinator" and owed.kind in DIGESTIBLE and preferences.digest == "daily":
        return IntoDigest()
    if template_problem:
        # Never English alone while the Welsh is missing or behind: that kind waits for both.
        return Defer(now + rules.template_recheck, TEMPLATE_NOT_READY, template_problem)
    quiet = preferences.quiet_hours or rules.site_quiet_hours
    if quiet is not None:
        ends = quiet.ends_after(now, rules.zone)
        if ends is not None:
            return Defer(ends, QUIET_HOURS, f"quiet hours {quiet}")
    return Go(address)


def _address_word(channel: str) -> str:
    return "email address" if channel == "email" else "mobile number"


def retry_or_give_up(attempts: int, delays: tuple[timedelta, ...], now: datetime, error: str) -> Decision:
    """After a transient failure (``attempts`` made so far): try again later, or give up."""
    if attempts > len(delays):
        return Fail(EXHAUSTED, f"gave up after {attempts} attempts: {error}")
    return Defer(now + delays[attempts - 1], RETRYING, error)
