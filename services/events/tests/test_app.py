import pytest

from events.app import DEFINITION
from events.scheduler import guest_retention
from peerlink.config import ConfigError
from peerlink.db import create_engine
from peerlink.testing import assert_service_starts, settings_for


def test_the_service_migrates_and_serves_health_and_openapi(database_url):
    assert_service_starts(DEFINITION, database_url)


def test_the_worker_runs_the_relay_the_consumer_and_the_scheduler_and_checks_its_settings(sqlite_url):
    engine = create_engine(sqlite_url)
    try:
        assert set(DEFINITION.components(settings_for("events", database_url=sqlite_url), engine)) == {
            "relay",
            "consumer:events",
            "scheduler",
        }
    finally:
        engine.dispose()
    keep = settings_for("events", database_url=sqlite_url, PEERLINK_EVENTS_GUEST_RETENTION_DAYS="0")
    assert guest_retention(keep) is None
    with pytest.raises(ConfigError, match="PEERLINK_EVENTS_GUEST_RETENTION_DAYS"):
        guest_retention(settings_for("events", database_url=sqlite_url, PEERLINK_EVENTS_GUEST_RETENTION_DAYS="soon"))
