import uuid
from datetime import UTC, datetime

import pytest
from marshmallow import Schema, fields

from peerlink.contracts import (
    CATALOGUE,
    CONTACT_RECORDED,
    REFERRAL_ACCEPTED,
    REFERRAL_PERSON_RESOLVED,
    REFERRAL_RECEIVED,
    Channel,
    ContractViolation,
    personal_fields,
)

ALL_TYPES = list(CATALOGUE)


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=str)
def test_every_example_is_what_its_producer_may_emit_and_its_consumer_accepts(event_type):
    wire = event_type.dump(event_type.load(event_type.example))
    assert event_type.load(wire) == event_type.load(event_type.example)


@pytest.mark.parametrize("event_type", [t for t in ALL_TYPES if t.channel is Channel.EVENTS], ids=str)
def test_nothing_on_the_pseudonymous_exchange_has_a_personal_field(event_type):
    assert personal_fields(event_type.schema) == []


def test_the_personal_field_check_sees_nested_fields():
    class Inner(Schema):
        email = fields.Email()

    class Outer(Schema):
        person = fields.Nested(Inner)
        contacts = fields.List(fields.Nested(Inner))

    assert personal_fields(Outer) == ["person.email", "contacts.email"]


def test_contact_details_travel_only_on_the_private_exchange():
    assert CONTACT_RECORDED.exchange == "peerlink.private"
    assert personal_fields(CONTACT_RECORDED.schema)


def test_a_producer_cannot_emit_a_field_outside_its_contract():
    data = {**REFERRAL_RECEIVED.load(REFERRAL_RECEIVED.example), "given_name": "Rhian"}
    with pytest.raises(ContractViolation, match="given_name"):
        REFERRAL_RECEIVED.dump(data)


def test_a_producer_cannot_emit_invalid_values():
    data = {**REFERRAL_RECEIVED.load(REFERRAL_RECEIVED.example), "source": "the pub"}
    with pytest.raises(ContractViolation, match="source"):
        REFERRAL_RECEIVED.dump(data)


def test_a_consumer_tolerates_an_added_field():
    wire = {**REFERRAL_RECEIVED.example, "added_later": 1}
    assert "added_later" not in REFERRAL_RECEIVED.load(wire)


def test_python_values_are_serialised_for_the_wire():
    data = REFERRAL_RECEIVED.load(REFERRAL_RECEIVED.example)
    data["referral_id"] = uuid.UUID(int=1)
    data["received_at"] = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    wire = REFERRAL_RECEIVED.dump(data)
    assert wire["referral_id"] == "00000000-0000-0000-0000-000000000001"
    assert wire["received_at"].startswith("2026-01-02T03:04:00")


def test_the_personal_data_finder_sees_contact_details_but_not_ids_or_times():
    from peerlink.testing import find_personal_data

    clean = '{"id":"0767fecf-b20d-4aab-b82f-821802762809","time":"2026-11-22T22:11:19.704042+00:00","n":12345}'
    assert find_personal_data(clean) == []
    dirty = '{"email":"rhian@example.org","phone":"+447700900123","mobile":"07700 900123","name":"Rhian"}'
    assert find_personal_data(dirty, known=("rhian",)) == [
        "rhian@example.org",
        "+447700900123",
        "07700 900123",
        "rhian",
    ]


def test_whose_referral_it_is_is_told_in_the_referrals_own_sequence_on_its_own_exchange():
    """``referral.person-resolved`` moves a referral to another person: the central office
    orders it against the referral's other events by their sequence, which is numbered per
    aggregate, and a site keeps it where it keeps the referral's other events."""
    assert (REFERRAL_PERSON_RESOLVED.aggregate, REFERRAL_PERSON_RESOLVED.channel) == ("referral", Channel.EVENTS)
    data = REFERRAL_PERSON_RESOLVED.load(REFERRAL_PERSON_RESOLVED.example)
    # Consumers take its consent as a referral.received's: they need both, always.
    for needed in ("counted_in_figures", "received_at", "linked_person_id"):
        with pytest.raises(ContractViolation, match=needed):
            REFERRAL_PERSON_RESOLVED.dump({k: v for k, v in data.items() if k != needed})
    with pytest.raises(ContractViolation, match="resolution"):
        REFERRAL_PERSON_RESOLVED.dump({**data, "resolution": "erased"})  # an erasure is person.erased's to tell


def test_a_referral_received_before_possible_duplicates_existed_is_read_as_not_linked():
    wire = {k: v for k, v in REFERRAL_RECEIVED.example.items() if k != "known_person"}
    assert REFERRAL_RECEIVED.load(wire)["known_person"] is False


def test_a_referral_accepted_before_it_said_whether_the_person_is_counted_is_read_as_not_known():
    """``counted_in_figures`` was added to v1 (matching keeps a match at the site by it): an
    event from before it still loads, as null, for the consumer to decide, never as a "no"."""
    wire = {k: v for k, v in REFERRAL_ACCEPTED.example.items() if k != "counted_in_figures"}
    assert REFERRAL_ACCEPTED.load(wire)["counted_in_figures"] is None
    data = REFERRAL_ACCEPTED.load(REFERRAL_ACCEPTED.example)
    assert REFERRAL_ACCEPTED.dump({**data, "counted_in_figures": False})["counted_in_figures"] is False
    with pytest.raises(ContractViolation, match="counted_in_figures"):
        REFERRAL_ACCEPTED.dump({**data, "counted_in_figures": "only at the site"})
