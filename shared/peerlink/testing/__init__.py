"""Fixtures and helpers every Peerlink test suite uses (a pytest plugin, loaded by entry point).

The real servers, never fakes: a fresh RabbitMQ vhost per test, a fresh PostgreSQL schema
or SQLite file per test, a real SMTP server, the services' own processes. Each module says
where its part comes from; this one gathers them so that pytest finds every fixture.
"""

from peerlink.testing.browser import browser_page, chromium, live_server
from peerlink.testing.exclusive import servers_lock
from peerlink.testing.messages import (
    ExchangeSpy,
    find_personal_data,
    make_envelope,
    publish_envelopes,
    publish_raw,
    sample_data,
    spy,
)
from peerlink.testing.servers import (
    LOCAL_AMQP,
    LOCAL_POSTGRES,
    Broker,
    amqp_url,
    broker,
    database_url,
    free_port,
    new_database_url,
    new_vhost,
    postgres_server,
    postgres_url,
    postgresql_only,
    sqlite_only,
    sqlite_url,
)
from peerlink.testing.services import (
    ServiceProcess,
    Tokens,
    assert_migrations_match_models,
    assert_service_starts,
    processes,
    settings_for,
    tokens,
)
from peerlink.testing.sms import sms_provider
from peerlink.testing.smtp import SmtpSink, smtp_server
from peerlink.testing.waiting import (
    Running,
    count_rows,
    queue_consumers,
    running,
    wait_for_consumer,
    wait_for_http,
    wait_until,
)

__all__ = [
    "LOCAL_AMQP",
    "LOCAL_POSTGRES",
    "Broker",
    "ExchangeSpy",
    "Running",
    "ServiceProcess",
    "SmtpSink",
    "Tokens",
    "amqp_url",
    "assert_migrations_match_models",
    "assert_service_starts",
    "broker",
    "browser_page",
    "chromium",
    "count_rows",
    "database_url",
    "find_personal_data",
    "free_port",
    "live_server",
    "make_envelope",
    "new_database_url",
    "new_vhost",
    "postgres_server",
    "postgres_url",
    "postgresql_only",
    "processes",
    "publish_envelopes",
    "publish_raw",
    "queue_consumers",
    "running",
    "sample_data",
    "servers_lock",
    "settings_for",
    "sms_provider",
    "smtp_server",
    "spy",
    "sqlite_only",
    "sqlite_url",
    "tokens",
    "wait_for_consumer",
    "wait_for_http",
    "wait_until",
]
