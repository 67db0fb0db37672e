"""The broker topology every site declares, and the queues of one consumer.

Names are deterministic so that an operator reading the broker knows each queue's owner:
``<service>.inbox`` is what the service consumes, ``<service>.inbox.retry.<delay>`` hold
failed messages for a while and dead-letter them back, ``<service>.inbox.parked`` keeps
what gave up, with the reason in its headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import amqp

from peerlink.contracts import EVENTS_EXCHANGE, PRIVATE_EXCHANGE, SITE_ONLY_EXCHANGE

# Headers a consumer adds on the way to its retry and parking queues.
ATTEMPT = "x-peerlink-attempt"
LAST_ERROR = "x-peerlink-last-error"
PARKED_REASON = "x-peerlink-parked-reason"
PARKED_AT = "x-peerlink-parked-at"
CONSUMER = "x-peerlink-consumer"
ORIGINAL_EXCHANGE = "x-peerlink-exchange"
ORIGINAL_ROUTING_KEY = "x-peerlink-routing-key"
REPLAYED = "x-peerlink-replayed"

UNROUTED_EXCHANGE = "peerlink.unrouted"
UNROUTED_QUEUE = "peerlink.unrouted"

# A message returned to its queue this often has most likely crashed its consumer each time:
# dead-letter it to the parking queue rather than loop forever. RabbitMQ counts every return,
# a lost connection's included; consumers stop cleanly (settling what they hold) so that
# deploys do not count, and the limit leaves room for many crashes of other causes.
DELIVERY_LIMIT = 50


def quorum_arguments(**extra: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **extra}


def at_least_once_dead_letter(routing_key: str, exchange: str = "") -> dict[str, Any]:
    """Quorum queue dead-lettering that cannot lose a message on the way (RabbitMQ >= 3.10)."""
    return {
        "x-dead-letter-exchange": exchange,
        "x-dead-letter-routing-key": routing_key,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


# What each topic exchange does with an event nobody binds: ``peerlink.events`` and
# ``peerlink.private`` keep it in ``peerlink.unrouted`` (a missing binding is a bug to see), while
# ``peerlink.site-only`` lets it go: it carries copies of events about people not counted
# centrally, and an event no service at the site consumes must neither pile up nor leave.
EXCHANGE_ARGUMENTS: dict[str, dict[str, Any]] = {
    EVENTS_EXCHANGE: {"alternate-exchange": UNROUTED_EXCHANGE},
    SITE_ONLY_EXCHANGE: {},
    PRIVATE_EXCHANGE: {"alternate-exchange": UNROUTED_EXCHANGE},
}


def declare_exchanges(channel: amqp.Channel) -> None:
    """The topic exchanges, and where what they cannot route is kept."""
    channel.exchange_declare(UNROUTED_EXCHANGE, "fanout", durable=True, auto_delete=False)
    channel.queue_declare(UNROUTED_QUEUE, durable=True, auto_delete=False, arguments=quorum_arguments())
    channel.queue_bind(UNROUTED_QUEUE, UNROUTED_EXCHANGE, "")
    for exchange, arguments in EXCHANGE_ARGUMENTS.items():
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False, arguments=arguments)


def site_bindings(bindings: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A consumer at a site hears the pseudonymous events whether or not they go to the central
    office: every binding on ``peerlink.events`` is made on ``peerlink.site-only`` too."""
    found = []
    for exchange, routing_key in bindings:
        found.append((exchange, routing_key))
        if exchange == EVENTS_EXCHANGE:
            found.append((SITE_ONLY_EXCHANGE, routing_key))
    return found


def format_delay(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    if seconds < 3600 or seconds % 3600:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


@dataclass(frozen=True)
class ConsumerQueues:
    """The queues of one consumer, named after it."""

    name: str
    retry_delays: Sequence[float]

    @property
    def inbox(self) -> str:
        return f"{self.name}.inbox"

    @property
    def parked(self) -> str:
        return f"{self.inbox}.parked"

    def retry(self, attempt: int) -> str:
        """The delay queue for a message that has failed ``attempt`` times (1-based)."""
        return f"{self.inbox}.retry.{format_delay(self.retry_delays[attempt - 1])}"

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def declare(self, channel: amqp.Channel, bindings: Iterable[tuple[str, str]]) -> None:
        declare_exchanges(channel)
        channel.queue_declare(self.parked, durable=True, auto_delete=False, arguments=quorum_arguments())
        channel.queue_declare(
            self.inbox,
            durable=True,
            auto_delete=False,
            arguments=quorum_arguments(
                **{"x-delivery-limit": DELIVERY_LIMIT}, **at_least_once_dead_letter(self.parked)
            ),
        )
        for exchange, routing_key in sorted(set(site_bindings(bindings))):
            channel.queue_bind(self.inbox, exchange, routing_key)
        for attempt, delay in enumerate(self.retry_delays, start=1):
            channel.queue_declare(
                self.retry(attempt),
                durable=True,
                auto_delete=False,
                arguments=quorum_arguments(
                    **{"x-message-ttl": max(1, round(delay * 1000))}, **at_least_once_dead_letter(self.inbox)
                ),
            )
