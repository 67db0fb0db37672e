"""Messages as tests need them: made, published as they are, spied on, checked for personal data."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from peerlink.testing.waiting import wait_until


class ExchangeSpy:
    """A queue of our own bound to an exchange, to read exactly what was published on it."""

    def __init__(self, amqp_url: str, exchange: str, binding: str = "#"):
        from peerlink.amqp import connect
        from peerlink.topology import declare_exchanges

        self.connection = connect(amqp_url, name="test-spy")
        self.channel = self.connection.channel()
        declare_exchanges(self.channel)
        self.queue = f"spy-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.queue, exclusive=True, auto_delete=True)
        self.channel.queue_bind(self.queue, exchange, binding)
        self.received: list[Any] = []

    def drain(self) -> list[Any]:
        while True:
            message = self.channel.basic_get(self.queue, no_ack=True)
            if message is None:
                return self.received
            self.received.append(message)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        wait_until(lambda: len(self.drain()) >= count, timeout=timeout, what=f"{count} messages on the spy queue")
        return self.received

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.release()


@pytest.fixture
def spy(amqp_url: str) -> Iterator[Callable[..., ExchangeSpy]]:
    spies: list[ExchangeSpy] = []

    def make(exchange: str, binding: str = "#", url: str | None = None) -> ExchangeSpy:
        spies.append(ExchangeSpy(url or amqp_url, exchange, binding))
        return spies[-1]

    yield make
    for item in spies:
        item.close()


def sample_data(event_type: Any, **overrides: Any) -> dict[str, Any]:
    """An event type's example, loaded, with fresh ids for every uuid field, and overrides."""
    from datetime import UTC, datetime

    from marshmallow import fields as ma_fields

    data = event_type.load(event_type.example)
    for name, schema_field in event_type.schema().fields.items():
        if isinstance(schema_field, ma_fields.UUID) and name in data:
            data[name] = uuid.uuid4()
        if isinstance(schema_field, ma_fields.AwareDateTime) and name in data:
            data[name] = datetime.now(UTC)
    data.update(overrides)
    return data


def make_envelope(
    event_type: Any,
    data: dict[str, Any] | None = None,
    *,
    site: str = "ebbw-vale",
    service: str = "referrals",
    subject: str | None = None,
) -> Any:
    """An envelope as a producer would emit it, without a database."""
    from datetime import UTC, datetime

    from peerlink.envelope import Envelope, new_event_id

    return Envelope(
        id=new_event_id(),
        source=f"/sites/{site}/{service}",
        type=event_type.name,
        subject=subject or str(uuid.uuid4()),
        time=datetime.now(UTC),
        site=site,
        sequence=1,
        data=event_type.dump(data if data is not None else sample_data(event_type)),
        correlationid=str(uuid.uuid4()),
    )


def publish_raw(
    amqp_url: str,
    exchange: str,
    routing_key: str,
    bodies: list[bytes],
    *,
    message_ids: list[str] | None = None,
    types: list[str] | None = None,
) -> None:
    """Publish bodies as they are (valid or not), confirmed, as a misbehaving producer would."""
    from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect
    from peerlink.topology import declare_exchanges

    connection = connect(amqp_url, name="test-publisher")
    try:
        publisher = ConfirmingPublisher(connection)
        declare_exchanges(publisher.channel)
        results = publisher.publish(
            [
                OutgoingMessage(
                    exchange=exchange,
                    routing_key=routing_key,
                    body=body,
                    message_id=(message_ids or [])[i] if message_ids else str(uuid.uuid4()),
                    type=(types or [])[i] if types else "",
                )
                for i, body in enumerate(bodies)
            ]
        )
        assert all(results), "the broker did not confirm every test message"
    finally:
        connection.release()


def publish_envelopes(amqp_url: str, envelopes: list[Any], *, exchange: str | None = None) -> None:
    """Each envelope as its producer's relay publishes it: on its type's exchange (or ``exchange``:
    ``peerlink.site-only`` for someone not counted centrally), with its routing key, id and type."""
    from peerlink.contracts import CATALOGUE

    for envelope in envelopes:
        event_type = CATALOGUE[envelope.type]
        publish_raw(
            amqp_url,
            exchange or event_type.exchange,
            event_type.routing_key(envelope.site),
            [envelope.to_json()],
            message_ids=[envelope.id],
            types=[envelope.type],
        )


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(\+44\s?|\b0)7\d{3}\s?\d{6}\b|\+\d{10,14}\b")


def find_personal_data(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """Emails, phone numbers and any of ``known`` (names, dates of birth) found in ``text``.

    Ids and timestamps are taken out first, so that their digits are not taken for a phone.
    """
    cleaned = _TIMESTAMP.sub(" ", _UUID.sub(" ", text))
    found = [m.group(0) for m in _EMAIL.finditer(cleaned)] + [m.group(0) for m in _PHONE.finditer(cleaned)]
    found += [value for value in known if value and value.lower() in text.lower()]
    return found
