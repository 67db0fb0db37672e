"""The rules that decide whether a delivery goes now, later or not at all (plain Python)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.domain import policy
from notifications.domain.policy import Defer, Fail, Go, IntoDigest, Owed, Rules, Skip, decide
from notifications.domain.recipients import (
    InvalidQuietHours,
    Preferences,
    QuietHours,
    Recipient,
    languages_for,
)

LONDON = ZoneInfo("Europe/London")
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # winter: London is on UTC
RULES = Rules(zone=LONDON)


def recipient(**overrides) -> Recipient:
    values = {
        "recipient_id": "p-1",
        "audience": "person",
        "given_name": "Rhian",
        "email": "rhian@example.org",
        "phone": "+447700900123",
        "preferred_language": "cy",
        "channels": ("email", "sms"),
        "safe_to_text": True,
    }
    return Recipient(**{**values, **overrides})


def owed(channel="email", kind="referral-acknowledged", audience="person", age=timedelta(0)) -> Owed:
    return Owed(kind, channel, audience, NOON - age)


SOMEONE = object()
NOTHING_CHOSEN = Preferences()


def decided(owed_=None, who=SOMEONE, preferences=NOTHING_CHOSEN, **options):
    options = {"now": NOON, "rules": RULES, "channel_ready": True, **options}
    return decide(owed_ or owed(), recipient() if who is SOMEONE else who, preferences, **options)


@pytest.mark.parametrize(
    ("preference", "chosen", "languages"),
    [
        ("cy", None, ("cy",)),
        ("en", None, ("en",)),
        (None, None, ("cy", "en")),
        (None, "en", ("en",)),
        ("en", "cy", ("cy",)),
    ],
)
def test_welsh_to_welsh_speakers_english_to_english_and_both_welsh_first_when_unknown(preference, chosen, languages):
    assert languages_for(recipient(preferred_language=preference), Preferences(language=chosen)) == languages


def test_a_message_goes_to_the_address_of_its_channel():
    assert decided(owed("email")) == Go("rhian@example.org")
    assert decided(owed("sms")) == Go("+447700900123")


def test_nothing_goes_on_a_channel_without_consent_even_if_chosen():
    decision = decided(owed("sms"), recipient(channels=("email",)), Preferences(channels=("email", "sms")))
    assert decision == Skip(policy.NO_CONSENT, "has not agreed to sms")


@pytest.mark.parametrize(
    ("who", "preferences", "channel", "reason"),
    [
        (recipient(), Preferences(channels=("email",)), "sms", policy.NOT_CHOSEN),
        (recipient(), Preferences(opt_out=frozenset({"referral-acknowledged"})), "email", policy.OPTED_OUT),
        (recipient(safe_to_text=False), Preferences(), "sms", policy.NOT_SAFE_TO_TEXT),
        (recipient(sms_stopped=True), Preferences(), "sms", policy.SMS_STOPPED),
        (recipient(email=None), Preferences(), "email", policy.NO_CONTACT_DETAILS),
        (recipient(erased=True), Preferences(), "email", policy.PERSON_ERASED),
    ],
)
def test_what_people_said_or_lack_is_respected(who, preferences, channel, reason):
    decision = decided(owed(channel), who, preferences)
    assert isinstance(decision, Skip) and decision.reason == reason


def test_a_channel_not_set_up_here_is_skipped_not_pretended():
    assert decided(owed("sms"), channel_ready=False).reason == policy.CHANNEL_NOT_SET_UP


def test_unknown_contact_details_are_waited_for_then_given_up_after_a_week():
    waiting = decided(owed(), None)
    assert isinstance(waiting, Defer) and waiting.reason == policy.WAITING_FOR_CONTACT
    assert waiting.until == NOON + RULES.wait_for_contact
    assert decided(owed(age=timedelta(days=8)), None) == Fail(
        policy.NO_CONTACT_DETAILS, "no contact details arrived within a week"
    )


def test_quiet_hours_put_a_message_off_until_they_end_never_away():
    evening = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    quiet = Preferences(quiet_hours=QuietHours.parse("21:00-08:00"))
    decision = decided(owed("sms"), recipient(), quiet, now=evening)
    assert decision == Defer(datetime(2026, 11, 25, 8, 0, tzinfo=LONDON), policy.QUIET_HOURS, "quiet hours 21:00-08:00")
    early = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert decided(owed("sms"), recipient(), quiet, now=early).until == datetime(2026, 11, 25, 8, 0, tzinfo=LONDON)
    assert decided(owed("sms"), recipient(), quiet, now=NOON) == Go("+447700900123")


def test_the_site_s_quiet_hours_apply_to_those_who_set_none():
    rules = Rules(zone=LONDON, site_quiet_hours=QuietHours.parse("11:00-13:00"))
    assert isinstance(decided(rules=rules), Defer)
    own = Preferences(quiet_hours=QuietHours.parse("01:00-02:00"))
    assert decided(owed(), recipient(), own, rules=rules) == Go("rhian@example.org")


def test_quiet_hours_follow_the_site_clock_in_summer():
    summer_evening = datetime(2026, 7, 1, 20, 30, tzinfo=UTC)  # 21:30 in London
    quiet = Preferences(quiet_hours=QuietHours.parse("21:00-08:00"))
    decision = decided(owed(), recipient(), quiet, now=summer_evening)
    assert decision.until == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_a_kind_whose_welsh_template_is_not_ready_waits_for_it():
    decision = decided(template_problem="the Welsh template is older")
    assert isinstance(decision, Defer) and decision.reason == policy.TEMPLATE_NOT_READY


def test_what_is_no_longer_true_is_not_said():
    assert decided(stale="the event was cancelled") == Skip(policy.STALE, "the event was cancelled")


def test_a_coordinator_who_chose_a_daily_digest_gets_items_into_it():
    coordinator = recipient(audience="coordinator", channels=("email",))
    daily = Preferences(digest="daily")
    item = owed(kind="referral-received-coordinator", audience="coordinator")
    assert decided(item, coordinator, daily) == IntoDigest()
    assert decided(item, coordinator, Preferences()) == Go("rhian@example.org")
    assert decided(owed(kind="digest", audience="coordinator"), coordinator, daily) == Go("rhian@example.org")


def test_transient_failures_are_retried_with_growing_delays_then_given_up():
    delays = (timedelta(seconds=30), timedelta(minutes=2))
    first = policy.retry_or_give_up(1, delays, NOON, "451")
    second = policy.retry_or_give_up(2, delays, NOON, "451")
    assert first.until - NOON < second.until - NOON
    assert policy.retry_or_give_up(3, delays, NOON, "451") == Fail(policy.EXHAUSTED, "gave up after 3 attempts: 451")


@pytest.mark.parametrize("text", ["21:00", "25:00-08:00", "21:00-21:00", "nine-five"])
def test_quiet_hours_that_are_not_a_window_are_refused(text):
    with pytest.raises(InvalidQuietHours):
        QuietHours.parse(text)


def test_quiet_hours_within_a_day():
    window = QuietHours(time(13, 0), time(14, 0))
    assert window.contains(time(13, 30)) and not window.contains(time(14, 0)) and not window.contains(time(12, 59))
