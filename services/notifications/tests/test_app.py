"""The service starts, migrates (also from the first slice's schema, keeping its data), and
refuses a malformed setting in one line."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from notifications.app import DEFINITION
from peerlink.config import ConfigError
from peerlink.db import create_engine
from peerlink.testing import assert_service_starts, settings_for


def test_the_service_migrates_and_serves_health_and_openapi(database_url):
    assert_service_starts(DEFINITION, database_url)


def test_a_database_of_the_first_slice_upgrades_with_its_deliveries_and_recipients(database_url):
    DEFINITION.migrations.upgrade(database_url, "notifications_0001")
    engine = create_engine(database_url, poolclass=sa.pool.NullPool)
    person, delivery, now = str(uuid.uuid4()), uuid.uuid4(), datetime.now(UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO recipients (person_id, given_name, email, channels, safe_to_text, updated_at)"
                    " VALUES (:p, 'Rhian', 'rhian@example.org', '[\"email\"]', false, :now)"
                ),
                {"p": person, "now": now},
            )
            conn.execute(
                sa.text(
                    'INSERT INTO deliveries (id, event_id, kind, person_id, channel, status, "values", attempts,'
                    " last_error, due_at, created_at) VALUES (:id, 'e-1', 'referral-acknowledged', :p, 'email',"
                    " 'pending', '{}', 0, 'waiting for contact details', :now, :now)"
                ),
                {"id": delivery if engine.dialect.name == "postgresql" else delivery.hex, "p": person, "now": now},
            )
        DEFINITION.migrations.upgrade(database_url)
        with engine.connect() as conn:
            recipient = conn.execute(sa.text("SELECT recipient_id, audience, given_name FROM recipients")).one()
            owed = conn.execute(sa.text("SELECT recipient_id, audience, reason FROM deliveries")).one()
    finally:
        engine.dispose()
    assert tuple(recipient) == (person, "person", "Rhian")
    assert tuple(owed) == (person, "person", "waiting-for-contact")
    DEFINITION.migrations.upgrade(database_url, "notifications_0001")  # and back down, for a rollback


def _path() -> str:
    return os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


def test_the_worker_refuses_to_start_without_an_smtp_url_in_one_line(tmp_path):
    env = {"PATH": _path(), "PEERLINK_SITE": "ebbw-vale", "PEERLINK_VAR_DIR": str(tmp_path)}
    subprocess.run(["peerlink-notifications", "migrate"], env=env, capture_output=True, check=True, timeout=60)
    result = subprocess.run(["peerlink-notifications", "work"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "peerlink-notifications: PEERLINK_SMTP_URL is not set (expected a smtp/smtp+starttls/smtps/log URL)"
    ]


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {"PEERLINK_SMS_URL": "https://sms.example.org"},
            "PEERLINK_SMS_API_KEY is not set (the provider's API key, needed with PEERLINK_SMS_URL)",
        ),
        (
            {"PEERLINK_SMS_URL": "http://sms.example.org", "PEERLINK_SMS_API_KEY": "x"},
            "PEERLINK_SMS_URL: plain http is only for a provider on this machine; use https",
        ),
        (
            {"PEERLINK_SMS_URL": "https://sms.example.org", "PEERLINK_SMS_API_KEY": "not-a-key"},
            "PEERLINK_SMS_API_KEY: expected a GOV.UK Notify-style key, <name>-<service id>-<secret>",
        ),
        ({"PEERLINK_QUIET_HOURS": "9pm-8am"}, "PEERLINK_QUIET_HOURS: '9pm' is not a time of day such as 21:00"),
        (
            {"PEERLINK_REMINDER_BEFORE": "a day"},
            "PEERLINK_REMINDER_BEFORE: 'a day' is not a duration such as 500ms, 10s, 5m or 1h",
        ),
        (
            {"PEERLINK_SEND_RETRY_DELAYS": "30s,2m,1m"},
            "PEERLINK_SEND_RETRY_DELAYS: delays must grow, got '30s,2m,1m'",
        ),
        (
            {"PEERLINK_SEND_RETRY_DELAYS": "1m,1m"},
            "PEERLINK_SEND_RETRY_DELAYS: delays must grow, got '1m,1m'",
        ),
        (
            {"PEERLINK_TIMEZONE": "Mars/Olympus"},
            "PEERLINK_TIMEZONE: 'Mars/Olympus' is not a time zone such as Europe/London",
        ),
        (
            {"PEERLINK_MAIL_FROM": "Drug Aid <no-reply@example.org>"},
            "PEERLINK_MAIL_FROM: the sender must not say why people are in touch ('Drug Aid <no-reply@example.org>')",
        ),
        (
            {"PEERLINK_SMTP_URL": "http://mail"},
            "PEERLINK_SMTP_URL: 'http://mail' must start with one of smtp://, smtp+starttls://, smtps://, log://",
        ),
    ],
)
def test_a_malformed_setting_is_refused_in_one_line_naming_it(sqlite_url, settings, line):
    """(What ``work`` prints after ``peerlink-notifications: ``, as the test above shows.)"""
    configured = settings_for(
        "notifications", database_url=sqlite_url, **{"PEERLINK_SMTP_URL": "smtp://127.0.0.1:1", **settings}
    )
    with pytest.raises(ConfigError) as refused:
        DEFINITION.components(configured, create_engine(sqlite_url))
    assert str(refused.value) == line


def test_unset_a_reminder_goes_24_hours_before_and_retries_wait_longer_each_time(sqlite_url):
    configured = settings_for("notifications", database_url=sqlite_url, PEERLINK_SMTP_URL="log:")
    engine = create_engine(sqlite_url)
    components = DEFINITION.components(configured, engine)
    engine.dispose()
    assert components["scheduler"].reminder_before == timedelta(hours=24)
    assert components["dispatcher:email"].retry_delays == (
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(hours=1),
        timedelta(hours=6),
    )


def test_with_log_urls_a_development_worker_has_every_component(sqlite_url):
    configured = settings_for(
        "notifications", database_url=sqlite_url, PEERLINK_SMTP_URL="log:", PEERLINK_SMS_URL="log:"
    )
    engine = create_engine(sqlite_url)
    components = DEFINITION.components(configured, engine)
    engine.dispose()
    assert sorted(components) == [
        "consumer:notifications",
        "dispatcher:email",
        "dispatcher:sms",
        "relay",
        "scheduler",
    ]
    assert components["dispatcher:sms"].transport.name == "log"
