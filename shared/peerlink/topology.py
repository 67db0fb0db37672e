"""The broker topology every site has, and the queues of one consumer.

Names are deterministic so that an operator reading the broker knows each queue's owner:
``<service>.inbox`` is what the service consumes, ``<service>.inbox.retry.<delay>`` hold
failed messages for a while and dead-letter them back, ``<service>.inbox.parked`` keeps
what gave up, with the reason in its headers. The consumer reaches these three through its
own direct exchange, ``<service>.inbox.direct``, never through the default exchange: a
service's broker user may then write to its own queues and to no other service's.

The shared exchanges belong to the broker's definitions (``deploy/rabbitmq/definitions.py``),
and a service's user may not configure them (configure would let it delete them too). A
service checks them with passive declares, which need no permission, and declares them only
where they are missing: a development broker, whose ``guest`` may.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


class MissingTopology(RuntimeError):
    """Shared exchanges or queues are missing and this broker user may not create them."""


def create_shared_topology(channel: amqp.Channel) -> None:
    """The topic exchanges, and where what they cannot route is kept (as an operator, or guest)."""
    channel.exchange_declare(UNROUTED_EXCHANGE, "fanout", durable=True, auto_delete=False)
    channel.queue_declare(UNROUTED_QUEUE, durable=True, auto_delete=False, arguments=quorum_arguments())
    channel.queue_bind(UNROUTED_QUEUE, UNROUTED_EXCHANGE, "")
    for exchange, arguments in EXCHANGE_ARGUMENTS.items():
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False, arguments=arguments)


def declare_exchanges(channel: amqp.Channel) -> None:
    """Make sure the shared topology exists, creating it only where it is missing.

    Works on channels of its own (a refused or failed declare closes its channel), so that
    ``channel`` stays open for its caller.
    """
    connection = channel.connection
    exchanges = [(UNROUTED_EXCHANGE, "fanout"), *((name, "topic") for name in EXCHANGE_ARGUMENTS)]
    missing = absent(connection, exchanges=exchanges, queues=[UNROUTED_QUEUE])
    if not missing:
        return
    fresh = connection.channel()
    try:
        create_shared_topology(fresh)
    except amqp.exceptions.AccessRefused as exc:
        raise MissingTopology(
            f"the broker has no {', '.join(missing)} and this user may not create them: "
            "import the broker's definitions (deploy/rabbitmq/definitions.py)"
        ) from exc
    _close(fresh)


def absent(
    connection: amqp.Connection, *, exchanges: Iterable[tuple[str, str]] = (), queues: Iterable[str] = ()
) -> list[str]:
    """Which of these exchanges (name, type) and queues the broker does not have.

    A passive declare needs no permission on the resource, and changes nothing. A missing one
    answers 404, which closes the channel: the checks after it run on a new one.
    """
    checks: list[tuple[str, Callable[[amqp.Channel], object]]] = [
        (name, lambda ch, n=name, t=kind: ch.exchange_declare(n, t, passive=True)) for name, kind in exchanges
    ]
    checks += [(name, lambda ch, n=name: ch.queue_declare(n, passive=True)) for name in queues]
    missing = []
    channel = connection.channel()
    for name, check in checks:
        try:
            check(channel)
        except amqp.exceptions.NotFound:
            missing.append(name)
            channel = connection.channel()
    _close(channel)
    return missing


def _close(channel: amqp.Channel) -> None:
    if channel.is_open:
        channel.close()


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
    """The queues of one consumer, named after it, and the direct exchange that reaches them."""

    name: str
    retry_delays: Sequence[float]

    @property
    def inbox(self) -> str:
        return f"{self.name}.inbox"

    @property
    def exchange(self) -> str:
        """The consumer's own direct exchange: each of its queues is bound to it by its name."""
        return f"{self.inbox}.direct"

    @property
    def parked(self) -> str:
        return f"{self.inbox}.parked"

    def retry(self, attempt: int) -> str:
        """The delay queue for a message that has failed ``attempt`` times (1-based)."""
        return f"{self.inbox}.retry.{format_delay(self.retry_delays[attempt - 1])}"

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    @property
    def queues(self) -> list[str]:
        return [self.parked, self.inbox, *(self.retry(a) for a in range(1, self.max_attempts))]

    def arguments(self, dead_letter_exchange: str | None = None) -> dict[str, dict[str, Any]]:
        """Each queue's arguments, as this version creates them.

        Queues dead-letter through the consumer's exchange. Those created before it existed
        dead-letter through the default exchange (``dead_letter_exchange=""``) and keep doing so:
        the broker refuses to redeclare a queue with other arguments, and checks no user's
        permission when it dead-letters, so they work as they are.
        """
        via = self.exchange if dead_letter_exchange is None else dead_letter_exchange
        found: dict[str, dict[str, Any]] = {
            self.parked: quorum_arguments(),
            self.inbox: quorum_arguments(
                **{"x-delivery-limit": DELIVERY_LIMIT}, **at_least_once_dead_letter(self.parked, via)
            ),
        }
        for attempt, delay in enumerate(self.retry_delays, start=1):
            found[self.retry(attempt)] = quorum_arguments(
                **{"x-message-ttl": max(1, round(delay * 1000))}, **at_least_once_dead_letter(self.inbox, via)
            )
        return found

    def declare(self, channel: amqp.Channel, bindings: Iterable[tuple[str, str]]) -> None:
        """The shared exchanges checked, this consumer's exchange and queues, and their bindings.

        A queue that exists is left as it is (checked passively): redeclaring it with other
        arguments would be refused, and one created by an earlier version must keep working.
        """
        declare_exchanges(channel)
        self.declare_exchange(channel)
        arguments = self.arguments()
        for queue in absent(channel.connection, queues=arguments):
            channel.queue_declare(queue, durable=True, auto_delete=False, arguments=arguments[queue])
        self.bind(channel, arguments)
        for exchange, routing_key in sorted(set(site_bindings(bindings))):
            channel.queue_bind(self.inbox, exchange, routing_key)

    def declare_exchange(self, channel: amqp.Channel) -> None:
        channel.exchange_declare(self.exchange, "direct", durable=True, auto_delete=False)

    def bind(self, channel: amqp.Channel, queues: Iterable[str]) -> None:
        """Route each of ``queues`` from the consumer's exchange by its own name."""
        for queue in queues:
            channel.queue_bind(queue, self.exchange, queue)
