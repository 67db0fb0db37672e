"""The AsyncAPI 3.0 document of every channel and message, generated from the contracts.

Each event type is a channel per exchange it travels on (its routing key,
``{site}.<aggregate>.<verb>``), with one message: the CloudEvents structured-mode envelope whose
``data`` is the type's own schema, converted from marshmallow by apispec. Two servers: a site's
broker, which holds every channel, and the central office's, which holds only ``peerlink.events``
(shovelled from each site); ``peerlink.site-only`` and ``peerlink.private`` never leave the site.
``peerlink asyncapi --write docs/asyncapi.json`` writes it; a test fails when the checked-in
document is not what the schemas say, and another validates it against AsyncAPI 3.0's schema.
"""

from __future__ import annotations

import json
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from peerlink.contracts import CATALOGUE, EVENTS_EXCHANGE, PRIVATE_EXCHANGE, SITE_ONLY_EXCHANGE, Channel, EventType
from peerlink.envelope import CONTENT_TYPE

EXCHANGES = {
    EVENTS_EXCHANGE: "Pseudonymous domain events (ids, codes, counts, amounts, dates); forwarded to the central "
    "office by a shovel from the site's queue `peerlink.to-central`.",
    SITE_ONLY_EXCHANGE: "The same pseudonymous events about people who did not agree to be counted centrally: "
    "every consumer at the site binds here too; never forwarded.",
    PRIVATE_EXCHANGE: "Site-local events carrying personal data (contact details); never leaves the site.",
}


def _envelope_schema(data_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "site", "sequence", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "format": "uuid", "description": "Unique with `source` (the inbox key)."},
            "source": {
                "type": "string",
                "pattern": "^/sites/[a-z0-9-]+/[a-z]+$",
                "example": "/sites/merthyr/referrals",
            },
            "type": {"type": "string"},
            "subject": {"type": "string", "description": "The aggregate's id."},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "site": {"type": "string", "pattern": "^[a-z0-9-]+$"},
            "sequence": {"type": "integer", "minimum": 1, "description": "Per aggregate, strictly increasing."},
            "correlationid": {"type": "string"},
            "causationid": {"type": "string"},
            "data": {"$ref": data_ref},
        },
    }


def _data_schemas() -> dict[str, Any]:
    spec = APISpec("peerlink", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    for event_type in CATALOGUE:
        spec.components.schema(_schema_name(event_type), schema=event_type.schema)
    return spec.to_dict()["components"]["schemas"]  # type: ignore[no-any-return]


def _schema_name(event_type: EventType) -> str:
    return event_type.schema.__name__


def _channel_id(event_type: EventType) -> str:
    return f"{event_type.aggregate}.{event_type.verb}.v{event_type.version}"


# Which brokers hold an exchange: everything is at the site; only `peerlink.events` reaches the
# central office (the shovel), so only its channels name the central server too.
SERVERS_OF = {
    EVENTS_EXCHANGE: ("site", "central"),
    SITE_ONLY_EXCHANGE: ("site",),
    PRIVATE_EXCHANGE: ("site",),
}
CHANNEL_PREFIX = {EVENTS_EXCHANGE: "", SITE_ONLY_EXCHANGE: "site-only.", PRIVATE_EXCHANGE: ""}


def _exchanges(event_type: EventType) -> list[str]:
    """Where the type is published: a pseudonymous event goes to ``peerlink.events``, or to
    ``peerlink.site-only`` when its person did not agree to be counted centrally."""
    if event_type.channel is Channel.EVENTS:
        return [EVENTS_EXCHANGE, SITE_ONLY_EXCHANGE]
    return [PRIVATE_EXCHANGE]


def _where(exchange: str) -> str:
    if exchange == EVENTS_EXCHANGE:
        return (
            "Published at the site on `peerlink.events` and shovelled to the central office's "
            "`peerlink.events` (the same routing key)."
        )
    if exchange == SITE_ONLY_EXCHANGE:
        return (
            "Published at the site on `peerlink.site-only` when the person did not agree to be counted "
            "centrally; never forwarded."
        )
    return "Published at the site on `peerlink.private`; never leaves the site."


def _channel(event_type: EventType, exchange: str, message_id: str) -> dict[str, Any]:
    return {
        "address": "{site}." + f"{event_type.aggregate}.{event_type.verb}",
        "title": event_type.name if exchange != SITE_ONLY_EXCHANGE else f"{event_type.name} (site only)",
        "description": f"{event_type.description} {_where(exchange)}",
        "servers": [{"$ref": f"#/servers/{server}"} for server in SERVERS_OF[exchange]],
        "parameters": {"site": {"description": "The site's slug, e.g. `merthyr`."}},
        "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False},
                "bindingVersion": "0.3.0",
            }
        },
    }


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type in CATALOGUE:
        message_id = event_type.name
        for exchange in _exchanges(event_type):
            channel_id = CHANNEL_PREFIX[exchange] + _channel_id(event_type)
            channels[channel_id] = _channel(event_type, exchange, message_id)
            operations[f"publish.{channel_id}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{message_id}"}],
                # Persistent: a broker restart keeps what it had not delivered yet.
                "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.3.0"}},
            }
        messages[message_id] = {
            "name": message_id,
            "title": event_type.name,
            "summary": event_type.description,
            "contentType": CONTENT_TYPE,
            "payload": _envelope_schema(f"#/components/schemas/{_schema_name(event_type)}"),
            "examples": [
                {
                    "name": "example",
                    "payload": {
                        "specversion": "1.0",
                        "id": "6d9e0c1a-6b1e-4f1e-9a7c-2f3b4c5d6e7f",
                        "source": "/sites/merthyr/<service>",
                        "type": event_type.name,
                        "subject": "<aggregate id>",
                        "time": "2026-11-20T15:30:00.000000Z",
                        "datacontenttype": "application/json",
                        "site": "merthyr",
                        "sequence": 1,
                        "data": event_type.example,
                    },
                }
            ],
            "bindings": {
                "amqp": {
                    "contentEncoding": "utf-8",
                    "messageType": event_type.name,
                    "bindingVersion": "0.3.0",
                }
            },
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Peerlink domain events",
            "version": "1.0.0",
            "description": "Every event a Peerlink service publishes: CloudEvents 1.0 in structured mode "
            "(the AMQP body is the envelope; `message_id` = `id`, `type` = `type`, persistent). "
            + " ".join(f"`{name}`: {text}" for name, text in EXCHANGES.items()),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "site": {
                "host": "{broker}:5672",
                "protocol": "amqp",
                "pathname": "/{site}",
                "description": "A site's broker (its vhost is the site's slug): every channel.",
                "variables": {"broker": {"default": "localhost"}, "site": {"default": "ebbw-vale"}},
            },
            "central": {
                "host": "{broker}:5672",
                "protocol": "amqp",
                "pathname": "/central",
                "description": "The central office's broker: every site's `peerlink.events`, shovelled; "
                "no site-only or private channel is here.",
                "variables": {"broker": {"default": "localhost"}},
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _data_schemas()},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
