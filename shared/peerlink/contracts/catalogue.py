"""Event types as code: one marshmallow schema, a version and an example each.

Producers dump and validate strictly (an undeclared field is a bug, and could be personal
data leaking onto the wrong exchange); consumers load leniently (an additive change keeps
the version, so a field they do not know yet must not break them).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields

from peerlink.envelope import flatten_errors

EVENTS_EXCHANGE = "peerlink.events"
PRIVATE_EXCHANGE = "peerlink.private"
# The same pseudonymous events about people who did not agree to be counted in the central
# figures: consumers at the site bind here too, the link to the central office does not.
SITE_ONLY_EXCHANGE = "peerlink.site-only"

# Field names that would make an event personal. Checked on every schema of the
# pseudonymous exchange, nested schemas included.
PERSONAL_FIELD_PATTERN = re.compile(
    r"(^|_)(name|names|email|phone|mobile|address|postcode|date_of_birth|dob|birth|note|notes|"
    r"summary|comment|free_text)($|_)"
)


class Channel(enum.Enum):
    """Where an event travels: the pseudonymous stream or the site-local private one."""

    EVENTS = EVENTS_EXCHANGE
    PRIVATE = PRIVATE_EXCHANGE

    @property
    def exchange(self) -> str:
        return self.value


class ContractViolation(ValueError):
    """What a producer tried to emit does not match its own contract."""


@dataclass(frozen=True)
class EventType:
    aggregate: str
    verb: str
    version: int
    schema: type[Schema]
    example: dict[str, Any]
    channel: Channel
    description: str

    @property
    def name(self) -> str:
        return f"peerlink.{self.aggregate}.{self.verb}.v{self.version}"

    @property
    def exchange(self) -> str:
        return self.channel.exchange

    def routing_key(self, site: str) -> str:
        return f"{site}.{self.aggregate}.{self.verb}"

    @property
    def binding_key(self) -> str:
        """What a consumer binds to receive this event from any site."""
        return f"*.{self.aggregate}.{self.verb}"

    # One schema instance per type and direction: building one per event costs as much as using it.
    @cached_property
    def _strict(self) -> Schema:
        return self.schema(unknown=RAISE)

    @cached_property
    def _lenient(self) -> Schema:
        return self.schema(unknown=EXCLUDE)

    def dump(self, data: dict[str, Any]) -> dict[str, Any]:
        """Producer side: python values to wire JSON, refusing anything off-contract."""
        extra = set(data) - set(self._strict.fields)
        if extra:
            raise ContractViolation(f"{self.name}: fields not in the contract: {sorted(extra)}")
        try:
            wire = self._strict.dump(data)
        except (ValidationError, TypeError, ValueError, AttributeError) as exc:
            raise ContractViolation(f"{self.name}: {exc}") from None
        errors = self._strict.validate(wire)
        if errors:
            raise ContractViolation(f"{self.name}: {flatten_errors(errors)}")
        return wire

    def load(self, wire: dict[str, Any]) -> dict[str, Any]:
        """Consumer side: wire JSON to python values; raises ValidationError."""
        return self._lenient.load(wire)

    def __str__(self) -> str:
        return self.name


class Catalogue:
    def __init__(self, types: Iterable[EventType]):
        self._by_name: dict[str, EventType] = {}
        for event_type in types:
            if event_type.name in self._by_name:
                raise ValueError(f"event type {event_type.name} declared twice")
            self._by_name[event_type.name] = event_type

    def __iter__(self) -> Iterator[EventType]:
        return iter(sorted(self._by_name.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> EventType | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> EventType:
        return self._by_name[name]


def personal_fields(schema: type[Schema] | Schema, prefix: str = "") -> list[str]:
    """Every field path in a schema whose name marks it as personal data."""
    instance = schema() if isinstance(schema, type) else schema
    found = []
    for name, field in instance.fields.items():
        path = f"{prefix}{name}"
        if PERSONAL_FIELD_PATTERN.search(name):
            found.append(path)
        nested = _nested_schema(field)
        if nested is not None:
            found.extend(personal_fields(nested, prefix=f"{path}."))
    return found


def _nested_schema(field: fields.Field) -> Schema | None:
    if isinstance(field, fields.Nested):
        return field.schema
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return field.inner.schema
    return None
