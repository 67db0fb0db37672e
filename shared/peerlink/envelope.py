"""The CloudEvents 1.0 envelope in structured mode: the whole event is the AMQP body.

Structured mode sidesteps the three incompatible header prefixes of the CloudEvents AMQP
bindings and SDKs; the AMQP properties we set (message id, type, correlation id) only
mirror the envelope for operators and tools.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"
TYPE_PATTERN = re.compile(r"^peerlink\.[a-z][a-z-]*\.[a-z][a-z-]*\.v[1-9][0-9]*$")
SOURCE_PATTERN = re.compile(r"^/sites/[a-z0-9-]+/[a-z]+$")


class InvalidEnvelope(ValueError):
    """The body is not a Peerlink CloudEvent; the message says why, for the parking queue."""


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    site: str
    sequence: int
    data: dict[str, Any]
    correlationid: str | None = None
    causationid: str | None = None
    specversion: str = SPEC_VERSION
    datacontenttype: str = "application/json"
    extensions: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": format_time(self.time),
            "datacontenttype": self.datacontenttype,
            "site": self.site,
            "sequence": self.sequence,
        }
        if self.correlationid:
            body["correlationid"] = self.correlationid
        if self.causationid:
            body["causationid"] = self.causationid
        body.update(self.extensions)
        body["data"] = self.data
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @property
    def dedup_key(self) -> tuple[str, str]:
        """``source`` + ``id`` is unique by the CloudEvents spec, across every site."""
        return (self.source, self.id)


def new_event_id() -> str:
    return str(uuid.uuid4())


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _EnvelopeSchema(Schema):
    class Meta:
        # Extension attributes we do not know are allowed by CloudEvents; keep going.
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal(SPEC_VERSION))
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    source = fields.String(required=True, validate=validate.Regexp(SOURCE_PATTERN))
    type = fields.String(required=True, validate=validate.Regexp(TYPE_PATTERN))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=100))
    time = fields.AwareDateTime(required=True, format="iso")
    datacontenttype = fields.String(load_default="application/json", validate=validate.Equal("application/json"))
    site = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]+$"))
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    correlationid = fields.String(load_default=None, validate=validate.Length(max=100))
    causationid = fields.String(load_default=None, validate=validate.Length(max=100))
    data = fields.Dict(required=True)


_ENVELOPE = _EnvelopeSchema()


def parse_envelope(body: bytes | str) -> Envelope:
    """Decode and check the envelope (not yet the data, which depends on the type)."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEnvelope(f"body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEnvelope("body is JSON but not an object")
    try:
        attrs = _ENVELOPE.load(raw)
    except ValidationError as exc:
        raise InvalidEnvelope(f"not a CloudEvents 1.0 envelope: {_flatten(exc.messages)}") from None
    if not attrs["source"].startswith(f"/sites/{attrs['site']}/"):
        raise InvalidEnvelope("envelope 'site' does not match its 'source'")
    return Envelope(**attrs)


def _flatten(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in sorted(messages.items(), key=str))
    if isinstance(messages, list):
        return ", ".join(_flatten(m) for m in messages)
    return str(messages)


flatten_errors = _flatten
