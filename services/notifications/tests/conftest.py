"""Fixtures of the notifications tests: a migrated database, senders over real servers, and
helpers that record people and owed messages as the handlers would."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from notifications import commands, store
from notifications.app import DEFINITION
from notifications.channels.email import SmtpTransport
from notifications.dispatcher import Dispatcher
from notifications.domain.policy import Rules
from notifications.domain.recipients import Preferences, Recipient
from notifications.templating import TemplateSet
from peerlink.db import create_engine, write_transaction
from peerlink.testing.sms import SentText, SmsProvider

LONDON = ZoneInfo("Europe/London")
FAST = (timedelta(milliseconds=100), timedelta(milliseconds=200))


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    DEFINITION.migrations.upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def templates() -> TemplateSet:
    return TemplateSet(zone=LONDON)


@pytest.fixture
def rules() -> Rules:
    return Rules(zone=LONDON, wait_for_contact=timedelta(seconds=30))


class Clock:
    """A clock tests set; it moves only when told."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def make_dispatcher(engine, templates, rules) -> Iterator[Callable[..., Dispatcher]]:
    made: list[Dispatcher] = []

    def make(transport: Any, channel: str = "email", **options: Any) -> Dispatcher:
        defaults = {"site": "ebbw-vale", "templates": templates, "rules": rules, "retry_delays": FAST, "poll": 0.02}
        made.append(Dispatcher(engine, transport, channel=channel, **{**defaults, **options}))
        return made[-1]

    yield make
    for dispatcher in made:
        dispatcher.close()  # what a test drove by hand (run() closes its own)


@pytest.fixture
def smtp_transport(smtp_server) -> Iterator[SmtpTransport]:
    transport = SmtpTransport.from_url(smtp_server.url, "Peerlink <no-reply@ebbw-vale.peerlink.invalid>")
    yield transport
    transport.idle()  # the connection it may have kept open


@pytest.fixture
def person(engine) -> Callable[..., str]:
    """Record someone's contact details (as contact.recorded would); returns their id."""

    def record(
        *,
        language: str | None = "cy",
        channels: tuple[str, ...] = ("email",),
        email: str | None = "rhian@example.org",
        phone: str | None = "+447700900123",
        safe_to_text: bool = True,
        given_name: str = "Rhian",
        audience: str = "person",
        recipient_id: str | None = None,
        preferences: Preferences | None = None,
    ) -> str:
        recipient_id = recipient_id or str(uuid.uuid4())
        now = datetime.now(UTC)
        with write_transaction(engine) as conn:
            commands.record_contact(
                conn,
                Recipient(recipient_id, audience, given_name, email, phone, language, channels, safe_to_text),
                now,
            )
            if preferences is not None:
                store.put_preferences(conn, recipient_id, preferences, now=now, by="test")
        return recipient_id

    return record


@pytest.fixture
def owe(engine) -> Callable[..., str]:
    """Owe a message (as a handler would); returns the causing event's id."""

    def record(recipient_id: str, kind: str = "referral-acknowledged", audience: str = "person", **extra: Any) -> str:
        event_id = extra.pop("event_id", None) or str(uuid.uuid4())
        values = extra.pop("values", None) or {"reference": "5F0C6F0E"}
        with write_transaction(engine) as conn:
            commands.owe(
                conn,
                event_id=event_id,
                kind=kind,
                recipient_id=recipient_id,
                audience=audience,
                values=values,
                now=extra.pop("now", None) or datetime.now(UTC),
                **extra,
            )
        return event_id

    return record


def _subject(message: Any) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


@pytest.fixture
def subject() -> Callable[[Any], str]:
    """An email's subject as a person reads it (non-ASCII subjects travel as encoded words)."""
    return _subject


def rows(engine: sa.Engine, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(store.deliveries).where(*where).order_by(store.deliveries.c.channel)))


@pytest.fixture
def deliveries(engine) -> Callable[..., list[Any]]:
    """The deliveries owed to someone (or matching ``where``), email before sms."""

    def find(recipient_id: str | None = None, *where: Any) -> list[Any]:
        if recipient_id:
            where = (store.deliveries.c.recipient_id == recipient_id, *where)
        return rows(engine, *where)

    return find


@pytest.fixture
def clock() -> Clock:
    return Clock()


__all__ = ["SentText", "SmsProvider"]
