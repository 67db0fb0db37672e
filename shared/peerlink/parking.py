"""List and replay a consumer's parked messages (``peerlink-<service> parked list|replay``).

Listing takes messages without acking them and then closes the channel, so the broker
returns them all to the queue untouched. Replaying republishes a message to the consumer's
inbox queue (through the consumer's own exchange) with its attempt count reset, waits for the
broker's confirm, and only then acks the parked copy: a crash in between leaves a duplicate,
never a loss.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import amqp

from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect, copy_to_queue, headers_of
from peerlink.topology import (
    ATTEMPT,
    CONSUMER,
    LAST_ERROR,
    ORIGINAL_ROUTING_KEY,
    PARKED_AT,
    PARKED_REASON,
    REPLAYED,
    ConsumerQueues,
)


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    type: str
    reason: str
    parked_at: str
    attempts: int
    routing_key: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _describe(message: amqp.Message) -> ParkedMessage:
    headers = headers_of(message)
    reason = headers.get(PARKED_REASON)
    if reason is None and headers.get("x-death"):
        # Dead-lettered by the broker itself (the delivery limit), not by our consumer.
        death = headers["x-death"][0]
        reason = f"dead-lettered by the broker: {death.get('reason')} from {death.get('queue')}"
    return ParkedMessage(
        message_id=str(message.properties.get("message_id") or ""),
        type=str(message.properties.get("type") or ""),
        reason=str(reason or "unknown"),
        parked_at=str(headers.get(PARKED_AT, "")),
        attempts=int(headers.get(ATTEMPT, 0) or 0),
        routing_key=str(headers.get(ORIGINAL_ROUTING_KEY) or message.delivery_info.get("routing_key", "")),
        size=len(message.body),
    )


@contextlib.contextmanager
def _taking(amqp_url: str, queue: str, limit: int) -> Iterator[tuple[Any, amqp.Channel, list[amqp.Message]]]:
    connection = connect(amqp_url, name="peerlink-parked")
    try:
        channel = connection.channel()
        taken: list[amqp.Message] = []
        while len(taken) < limit:
            message = channel.basic_get(queue, no_ack=False)
            if message is None:
                break
            taken.append(message)
        yield connection, channel, taken
        # Closing the channel returns every message not acked to the queue.
        channel.close()
    finally:
        connection.release()


def list_parked(amqp_url: str, queues: ConsumerQueues, *, limit: int = 1000) -> list[ParkedMessage]:
    with _taking(amqp_url, queues.parked, limit) as (_, _, taken):
        return [_describe(m) for m in taken]


def replay_parked(
    amqp_url: str, queues: ConsumerQueues, *, message_ids: set[str] | None = None, limit: int = 10_000
) -> list[ParkedMessage]:
    """Send parked messages (all, or those ids) back to the consumer's inbox queue."""
    replayed = []
    with _taking(amqp_url, queues.parked, limit) as (connection, channel, taken):
        chosen = [m for m in taken if message_ids is None or m.properties.get("message_id") in message_ids]
        if not chosen:
            return []
        # The exchange and its route to the inbox, should this run before an upgraded consumer
        # has started once (a consumer of an earlier version published through the default one).
        queues.declare_exchange(channel)
        queues.bind(channel, [queues.inbox])
        publisher = ConfirmingPublisher(connection)
        results = publisher.publish([_back_to_inbox(m, queues) for m in chosen])
        for message, ok in zip(chosen, results, strict=True):
            if ok:
                channel.basic_ack(message.delivery_info["delivery_tag"])
                replayed.append(_describe(message))
    return replayed


def _back_to_inbox(message: amqp.Message, queues: ConsumerQueues) -> OutgoingMessage:
    spent = (ATTEMPT, LAST_ERROR, PARKED_REASON, PARKED_AT, CONSUMER, "x-death")
    headers = {k: v for k, v in headers_of(message).items() if k not in spent}
    headers[REPLAYED] = True
    return copy_to_queue(message, queues.inbox, headers, exchange=queues.exchange)


def format_table(parked: list[ParkedMessage]) -> str:
    return "\n".join(json.dumps(p.as_dict(), ensure_ascii=False) for p in parked)
