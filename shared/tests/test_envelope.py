import json
from datetime import UTC, datetime

import pytest

from peerlink.envelope import Envelope, InvalidEnvelope, parse_envelope


def envelope(**overrides) -> Envelope:
    values = {
        "id": "0d9a3f2e-7e59-4c55-9d62-1c1b6f9a3a10",
        "source": "/sites/merthyr/referrals",
        "type": "peerlink.referral.received.v1",
        "subject": "r-1",
        "time": datetime(2026, 11, 2, 10, 15, tzinfo=UTC),
        "site": "merthyr",
        "sequence": 1,
        "data": {"a": 1},
        "correlationid": "c-1",
    }
    return Envelope(**{**values, **overrides})


def test_structured_mode_round_trip():
    original = envelope()
    body = original.to_json()
    raw = json.loads(body)
    assert raw["specversion"] == "1.0"
    assert raw["datacontenttype"] == "application/json"
    assert raw["time"] == "2026-11-02T10:15:00.000000Z"
    assert parse_envelope(body) == original


def test_unknown_extension_attributes_are_tolerated():
    raw = json.loads(envelope().to_json())
    raw["traceparent"] = "00-abc"
    assert parse_envelope(json.dumps(raw)).id == envelope().id


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (envelope().to_json().decode().encode("utf-16"), "not JSON in UTF-8"),  # valid but for its encoding
        (b"\x00\x9f<xml/>", "not JSON in UTF-8"),
        (b"[1, 2]", "not an object"),
        (b'{"specversion": "1.0"}', "id: Missing data"),
        (json.dumps({**json.loads(envelope().to_json()), "specversion": "0.3"}), "specversion"),
        (json.dumps({**json.loads(envelope().to_json()), "type": "referral.received"}), "type"),
        (json.dumps({**json.loads(envelope().to_json()), "time": "yesterday"}), "time"),
        (json.dumps({**json.loads(envelope().to_json()), "sequence": "1"}), "sequence"),
        (json.dumps({**json.loads(envelope().to_json()), "site": "pontypridd"}), "does not match"),
        (json.dumps({**json.loads(envelope().to_json()), "id": "a\u0000b"}), "id: String does not match"),
        (json.dumps({**json.loads(envelope().to_json()), "subject": "two words"}), "subject"),
        (json.dumps({**json.loads(envelope().to_json()), "sequence": True}), "sequence"),
        (json.dumps({**json.loads(envelope().to_json()), "data": [1]}), "data"),
        (json.dumps({**json.loads(envelope().to_json()), "time": "2026-11-02T10:15:00"}), "time zone"),
    ],
)
def test_what_is_not_a_peerlink_cloudevent_says_why(body, reason):
    with pytest.raises(InvalidEnvelope, match=reason):
        parse_envelope(body)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        envelope(time=datetime(2026, 1, 1)).to_json()
