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


# The envelope is checked by hand rather than by a marshmallow schema: it is fixed by the
# CloudEvents spec, it is checked for every message a consumer receives, and a schema costs
# about as much as all the rest of decoding.
_SITE = re.compile(r"^[a-z0-9-]+$")
# Ids are keys in every consumer's inbox: visible ASCII only, no spaces, no control characters.
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
_MISSING = "Missing data for required field."


def _text(
    raw: dict[str, Any],
    name: str,
    errors: dict[str, str],
    *,
    pattern: re.Pattern[str] | None = None,
    max_length: int = 100,
    required: bool = True,
) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            errors[name] = _MISSING
        return None
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        errors[name] = f"Not a string of 1 to {max_length} characters."
        return None
    if pattern is not None and not pattern.match(value):
        errors[name] = "String does not match expected pattern."
        return None
    return value


def parse_envelope(body: bytes | str) -> Envelope:
    """Decode and check the envelope (not yet the data, which depends on the type)."""
    if isinstance(body, bytes):
        # JSON on the wire is UTF-8 (RFC 8259 section 8.1); json.loads would guess UTF-16 or -32
        # from a body's first bytes and accept, or refuse with a misleading codec name.
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEnvelope(f"body is not JSON in UTF-8: {exc}") from None
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidEnvelope(f"body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEnvelope("body is JSON but not an object")
    errors: dict[str, str] = {}
    if raw.get("specversion") != SPEC_VERSION:
        errors["specversion"] = _MISSING if "specversion" not in raw else f"Must be equal to {SPEC_VERSION}."
    event_id = _text(raw, "id", errors, pattern=_TOKEN)
    source = _text(raw, "source", errors, pattern=SOURCE_PATTERN, max_length=200)
    type_ = _text(raw, "type", errors, pattern=TYPE_PATTERN, max_length=120)
    subject = _text(raw, "subject", errors, pattern=_TOKEN)
    site = _text(raw, "site", errors, pattern=_SITE, max_length=40)
    correlationid = _text(raw, "correlationid", errors, pattern=_TOKEN, required=False)
    causationid = _text(raw, "causationid", errors, pattern=_TOKEN, required=False)
    if raw.get("datacontenttype", "application/json") != "application/json":
        errors["datacontenttype"] = "Must be equal to application/json."
    time = _time(raw.get("time"), errors)
    sequence = raw.get("sequence")
    if sequence is None:
        errors["sequence"] = _MISSING
    elif isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        errors["sequence"] = "Not a whole number of at least 1."
    data = raw.get("data")
    if not isinstance(data, dict):
        errors["data"] = _MISSING if data is None else "Not a valid mapping type."
    if errors:
        raise InvalidEnvelope(f"not a CloudEvents 1.0 envelope: {_flatten(errors)}")
    assert source is not None and site is not None and time is not None
    if not source.startswith(f"/sites/{site}/"):
        raise InvalidEnvelope("envelope 'site' does not match its 'source'")
    return Envelope(
        id=event_id or "",
        source=source,
        type=type_ or "",
        subject=subject or "",
        time=time,
        site=site,
        sequence=int(sequence),  # type: ignore[arg-type]
        data=data,  # type: ignore[arg-type]
        correlationid=correlationid,
        causationid=causationid,
    )


def _time(value: Any, errors: dict[str, str]) -> datetime | None:
    if value is None:
        errors["time"] = _MISSING
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors["time"] = "Not a valid RFC 3339 date-time with a time zone."
        return None
    return moment


def _flatten(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in sorted(messages.items(), key=str))
    if isinstance(messages, list):
        return ", ".join(_flatten(m) for m in messages)
    return str(messages)


flatten_errors = _flatten
