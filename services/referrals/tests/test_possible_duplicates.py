"""A referral linked to someone already known never changes her by itself.

The attack this closes: anyone who knows a person's name and date of birth (or her phone
number) could send the public form with their own email and phone, be matched to her as a
duplicate, and have her contact details replaced by theirs, with ``contact.recorded`` telling
notifications to write to them from then on. Now the details given wait on the referral
until a coordinator says whether it is the same person.
"""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import count_rows, sqlite_only
from referrals.store import people, possible_duplicates
from referrals.store import referrals as referral_rows

UNKNOWN = "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11"
RHIANS_CONTACT = {
    "email": "rhian@example.org",
    "phone": "+44 7700 900123",
    "channels": ["email"],
    "safe_to_text": False,
}


def stranger(body, **person):
    """A referral with Rhian's name and date of birth and someone else's contact details."""
    sent = body()
    sent["person"] = {
        **sent["person"],
        "preferred_language": "en",
        "contact": {
            "email": "stranger@example.net",
            "phone": "07700 900999",
            "channels": ["email", "sms"],
            "safe_to_text": True,
        },
        **person,
    }
    return sent


def rhian_now(client, tokens, person_id):
    return client.get(f"/people/{person_id}", headers=tokens.header()).get_json()["person"]


def contact_messages(engine):
    with engine.connect() as conn:
        bodies = conn.execute(
            sa.select(outbox.c.body)
            .where(outbox.c.event_type == "peerlink.contact.recorded.v1")
            .order_by(outbox.c.position)
        ).scalars()
        return [parse_envelope(b).data for b in bodies]


def everything_written(engine):
    with engine.connect() as conn:
        return [
            row
            for table in (people, referral_rows, possible_duplicates, outbox)
            for row in conn.execute(sa.select(table))
        ]


def resolve(client, tokens, referral_id, decision, role="coordinator", **extra):
    return client.post(
        f"/referrals/{referral_id}/duplicate-check/resolve",
        json={"decision": decision, **extra},
        headers=tokens.header(role),
    )


def test_a_referral_with_her_name_and_birthday_over_the_api_changes_nothing_about_her(
    client, tokens, engine, create, act, body
):
    rhian = create()
    person = rhian["person_id"]
    # Another agency's system (a service token) sends a referral with her name and birthday.
    sent = client.post("/referrals", json=stranger(body), headers=tokens.header("service"))
    assert sent.status_code == 201, sent.get_json()
    linked = sent.get_json()
    assert linked["person_id"] == person and linked["known_person"] is True
    assert linked["duplicate_pending"] is True and linked["duplicate_of"] == rhian["id"]
    assert linked["allowed_actions"] == ["withdraw"]

    now = rhian_now(client, tokens, person)
    assert (now["preferred_language"], now["contact"]) == ("cy", RHIANS_CONTACT)
    assert [m["email"] for m in contact_messages(engine)] == ["rhian@example.org"]  # hers, once
    with engine.connect() as conn:
        bodies = " ".join(conn.execute(sa.select(outbox.c.body)).scalars())
    assert "stranger@example.net" not in bodies and "900999" not in bodies

    # The details given wait on the referral, for coordinators only.
    check = client.get(f"/referrals/{linked['id']}/duplicate-check", headers=tokens.header()).get_json()
    assert check["status"] == "pending" and check["matched_on"] == ["name-and-date-of-birth"]
    assert check["person_id"] == person
    assert check["proposed"]["contact"]["email"] == "stranger@example.net"
    assert check["proposed"]["contact"]["safe_to_text"] is True
    assert client.get(f"/referrals/{linked['id']}/duplicate-check", headers=tokens.header("service")).status_code == 403
    pending = client.get("/referrals?duplicate_pending=true", headers=tokens.header()).get_json()
    assert [item["id"] for item in pending["items"]] == [linked["id"]]

    # Nothing that reaches her (a message, a match in her name) before a coordinator says who it is.
    before = everything_written(engine)
    for action, extra in (("accept", {}), ("decline", {"reason": "other"})):
        refused = act(linked["id"], action, **extra)
        assert refused.status_code == 409
        assert refused.get_json()["allowed_actions"] == ["withdraw"]
        assert "same person" in refused.get_json()["detail"]
    assert everything_written(engine) == before


def open_form(client):
    html = unescape(client.get("/self-referral?lang=en").get_data(as_text=True))
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


FORM = {
    "preferred_language": "en",
    "email": "attacker@evil.example",
    "channels": ["email", "sms"],
    "safe_to_text": "yes",
    "support_needs": ["isolation"],
    "share_with_mentor": "yes",
    "counted_in_figures": "yes",
}


@sqlite_only  # the same intake as the API's attack above, which runs on both databases
@pytest.mark.parametrize(
    ("who", "matched_on"),
    [
        # Her name and birthday, someone else's email and phone.
        (
            {"given_name": "Rhian", "family_name": "Pritchard", "dob_day": "2", "dob_month": "3", "dob_year": "1985"},
            ["name-and-date-of-birth"],
        ),
        # Only her phone number, written another way; another name and birthday.
        (
            {"given_name": "Mallory", "family_name": "X", "dob_day": "1", "dob_month": "1", "dob_year": "1990"},
            ["phone"],
        ),
    ],
)
def test_an_anonymous_self_referral_cannot_take_over_a_known_persons_contact_details(
    app, client, tokens, engine, create, who, matched_on
):
    person = create()["person_id"]
    anonymous = app.test_client()
    phone = "07700 900999" if matched_on != ["phone"] else "07700-900123"
    sent = anonymous.post(
        "/self-referral",
        data={**open_form(anonymous), **FORM, **who, "phone": phone},
        environ_base={"REMOTE_ADDR": "10.1.1.1"},
    )
    # The same answer as for anyone: the form tells no one that she is known here.
    assert sent.status_code == 303 and re.search(r"ref=[0-9A-F]{8}$", sent.headers["Location"])

    now = rhian_now(client, tokens, person)
    assert (now["given_name"], now["preferred_language"], now["contact"]) == ("Rhian", "cy", RHIANS_CONTACT)
    assert [m["email"] for m in contact_messages(engine)] == ["rhian@example.org"]
    assert count_rows(engine, people) == 1
    (linked,) = client.get("/referrals?duplicate_pending=true", headers=tokens.header()).get_json()["items"]
    assert linked["person_id"] == person and linked["self_referral"] is True
    check = client.get(f"/referrals/{linked['id']}/duplicate-check", headers=tokens.header()).get_json()
    assert check["matched_on"] == matched_on
    assert check["proposed"]["contact"]["email"] == "attacker@evil.example"


def test_the_same_person_confirmed_takes_the_new_details_only_when_the_coordinator_says_so(
    client, tokens, engine, create, act, body
):
    rhian = create()
    person = rhian["person_id"]
    # Rhian herself, referred again by her GP with a new address and number.
    moved_house = stranger(body, preferred_language="en")
    moved_house["person"]["contact"] = {
        "email": "rhian.new@example.org",
        "phone": "07700 900555",
        "channels": ["email", "sms"],
        "safe_to_text": True,
    }
    first = create(moved_house)

    kept = resolve(client, tokens, first["id"], "same-person")
    assert kept.status_code == 200, kept.get_json()
    answer = kept.get_json()
    assert (answer["status"], answer["contact_details_applied"], answer["proposed"]) == ("same-person", False, None)
    assert answer["resolved_by"] == "coordinator" and answer["resolved_at"]
    assert answer["referral"]["person_id"] == person and answer["referral"]["duplicate_pending"] is False
    assert answer["referral"]["allowed_actions"] == ["accept", "decline", "withdraw"]
    assert rhian_now(client, tokens, person)["contact"] == RHIANS_CONTACT  # kept: nothing asked
    assert len(contact_messages(engine)) == 1
    # Answered once; the answer stands.
    before = everything_written(engine)
    again = resolve(client, tokens, first["id"], "different-person")
    assert again.status_code == 409 and "resolved already" in again.get_json()["detail"]
    assert everything_written(engine) == before
    assert act(first["id"], "accept").status_code == 200

    second = create(moved_house)
    taken = resolve(client, tokens, second["id"], "same-person", apply_contact_details=True)
    assert taken.status_code == 200 and taken.get_json()["contact_details_applied"] is True
    now = rhian_now(client, tokens, person)
    assert now["preferred_language"] == "en"
    assert now["contact"] == {
        "email": "rhian.new@example.org",
        "phone": "07700 900555",
        "channels": ["email", "sms"],
        "safe_to_text": True,
    }
    latest = contact_messages(engine)[-1]
    assert (latest["person_id"], latest["email"], latest["safe_to_text"]) == (person, "rhian.new@example.org", True)
    with engine.connect() as conn:  # the proposed details are not kept once they have gone where they belong
        assert set(conn.execute(sa.select(possible_duplicates.c.email)).scalars()) == {None}

    # Who answered, and when, in her record's audit trail and on her timeline.
    entries = client.get(f"/people/{person}/audit", headers=tokens.header()).get_json()["items"]
    resolved = [e for e in entries if e["what"] == "POST /referrals/<uuid:referral_id>/duplicate-check/resolve"]
    assert {e["referral_id"] for e in resolved} == {first["id"], second["id"]}
    kinds = [e["kind"] for e in client.get(f"/people/{person}", headers=tokens.header()).get_json()["timeline"]]
    assert kinds.count("possible-duplicate") == 2 and kinds.count("duplicate-resolved") == 2


def test_a_different_person_gets_a_person_of_their_own_with_their_own_details(
    client, tokens, engine, create, act, body
):
    rhian = create()
    namesake = create(stranger(body))  # another Rhian Pritchard born the same day
    answer = resolve(client, tokens, namesake["id"], "different-person")
    assert answer.status_code == 200, answer.get_json()
    answer = answer.get_json()
    theirs = answer["new_person_id"]
    assert theirs and theirs != rhian["person_id"] and answer["status"] == "different-person"
    referral = answer["referral"]
    assert referral["person_id"] == theirs
    assert (referral["known_person"], referral["duplicate_of"], referral["duplicate_pending"]) == (False, None, False)

    assert rhian_now(client, tokens, rhian["person_id"])["contact"] == RHIANS_CONTACT
    own = client.get(f"/people/{theirs}", headers=tokens.header()).get_json()
    assert (own["person"]["given_name"], own["person"]["date_of_birth"]) == ("Rhian", "1985-03-02")
    assert own["person"]["contact"]["email"] == "stranger@example.net"
    assert [r["id"] for r in own["referrals"]] == [namesake["id"]]
    latest = contact_messages(engine)[-1]
    assert (latest["person_id"], latest["email"]) == (theirs, "stranger@example.net")

    # From now on, events about the referral name them.
    assert act(namesake["id"], "accept").status_code == 200
    with engine.connect() as conn:
        accepted = conn.execute(
            sa.select(outbox.c.body).where(outbox.c.event_type == "peerlink.referral.accepted.v1")
        ).scalar_one()
    assert parse_envelope(accepted).data["person_id"] == theirs
    # Both records say who decided.
    for someone in (rhian["person_id"], theirs):
        entries = client.get(f"/people/{someone}/audit", headers=tokens.header()).get_json()["items"]
        assert any(
            e["what"].endswith("/duplicate-check/resolve") and e["referral_id"] == namesake["id"] for e in entries
        )


@sqlite_only
def test_resolving_asks_for_a_clear_answer_and_writes_nothing_otherwise(client, tokens, engine, create, body):
    rhian = create()
    linked = create(stranger(body))
    before = everything_written(engine)
    for answer in ({"decision": "maybe"}, {"decision": "different-person", "apply_contact_details": True}, {}):
        refused = client.post(
            f"/referrals/{linked['id']}/duplicate-check/resolve", json=answer, headers=tokens.header()
        )
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert resolve(client, tokens, linked["id"], "same-person", role="service").status_code == 403
    # Nothing to resolve: an unknown referral, or one never linked to anyone.
    for referral_id in (UNKNOWN, rhian["id"]):
        assert resolve(client, tokens, referral_id, "same-person").status_code == 404
        assert client.get(f"/referrals/{referral_id}/duplicate-check", headers=tokens.header()).status_code == 404
    assert everything_written(engine) == before


@sqlite_only
def test_someone_referred_at_seventeen_is_asked_again_at_eighteen_by_her_own_record(client, tokens, create, body, at):
    at(datetime(2026, 6, 14, 12, 0, tzinfo=UTC))
    young = body()
    young["person"]["date_of_birth"] = "2009-08-01"
    first = create(young)
    assert first["consent"]["review_on"] == "2027-08-01"
    # Her email again, with a date of birth that makes her an adult (a mistake, or a lie).
    older = body()
    older["person"] = {**older["person"], "given_name": "Rhi", "date_of_birth": "1990-01-01"}
    linked = create(older)
    assert (linked["age_band"], linked["consent"]["review_on"]) == ("35-44", None)
    same = resolve(client, tokens, linked["id"], "same-person").get_json()["referral"]
    # Hers now: her age band and the consent review at 18 follow her record, not the form.
    assert (same["age_band"], same["consent"]["review_on"]) == ("16-17", "2027-08-01")


def test_erasing_her_takes_an_open_question_about_her_and_its_details_with_her(client, tokens, engine, create, body):
    rhian = create()
    linked = create(stranger(body))
    assert client.delete(f"/people/{rhian['person_id']}", headers=tokens.header()).status_code == 204
    check = client.get(f"/referrals/{linked['id']}/duplicate-check", headers=tokens.header()).get_json()
    assert (check["status"], check["proposed"], check["resolved_by"]) == ("erased", None, "erasure")
    referral = client.get(f"/referrals/{linked['id']}", headers=tokens.header()).get_json()
    assert (referral["status"], referral["duplicate_pending"]) == ("withdrawn", False)
    assert resolve(client, tokens, linked["id"], "different-person").status_code == 409
    with engine.connect() as conn:
        assert conn.execute(sa.select(possible_duplicates.c.email, possible_duplicates.c.given_name)).one() == (
            None,
            None,
        )


@sqlite_only
def test_a_referral_not_yet_known_to_be_hers_does_not_speak_for_her_consent(client, tokens, engine, create, body):
    rhian = create()  # agreed to be counted in the central office's figures
    not_counted = stranger(body)
    not_counted["consent"] = {**not_counted["consent"], "counted_in_figures": False}
    create(not_counted)
    client.post(
        f"/people/{rhian['person_id']}/advocacy-issues",
        json={"category": "debt", "summary": "A letter"},
        headers=tokens.header(),
    )
    with engine.connect() as conn:
        exchange = conn.execute(
            sa.select(outbox.c.exchange).where(outbox.c.event_type == "peerlink.advocacy.opened.v1")
        ).scalar_one()
    assert exchange == "peerlink.events"  # her own consent, not the stranger's


def outbox_rows(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.event_type, outbox.c.exchange, outbox.c.body).order_by(outbox.c.position)
        ).all()
    return [(row.event_type, row.exchange, parse_envelope(row.body)) for row in rows]


RESOLVED = "peerlink.referral.person-resolved.v1"


@sqlite_only  # what is written to the outbox, in which order: no storage question
def test_each_answer_tells_the_other_services_whose_referral_it_is_after_the_details_they_need(
    client, tokens, engine, create, body, at
):
    rhian = create()  # counted in the central figures
    namesake = stranger(body)
    namesake["consent"] = {**namesake["consent"], "counted_in_figures": False}
    theirs = create(namesake)
    hers = create(stranger(body))
    assert [t for t, _, _ in outbox_rows(engine) if t == RESOLVED] == []  # nothing said before an answer

    answered_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)  # later that day
    at(answered_at)
    moved = resolve(client, tokens, theirs["id"], "different-person").get_json()
    assert resolve(client, tokens, hers["id"], "same-person").status_code == 200

    written = outbox_rows(engine)
    answers = [(exchange, envelope) for event_type, exchange, envelope in written if event_type == RESOLVED]
    assert len(answers) == 2
    (different_exchange, different), (same_exchange, same) = answers
    assert different.subject == theirs["id"] and same.subject == hers["id"]
    assert different.data == {
        "referral_id": theirs["id"],
        "person_id": moved["new_person_id"],
        "linked_person_id": rhian["person_id"],
        "resolution": "different-person",
        "counted_in_figures": False,
        "age_band": theirs["age_band"],
        "referral_status": "received",
        "received_at": different.data["received_at"],
        "resolved_at": different.data["resolved_at"],
    }
    assert datetime.fromisoformat(different.data["resolved_at"]) == answered_at
    assert different.data["received_at"][:19] == theirs["received_at"][:19]
    # The referral's own consent decides where its events go, as for every referral.* event:
    # the namesake's stays at the site though Rhian, whom it was linked to, is counted.
    assert different_exchange == "peerlink.site-only" and same_exchange == "peerlink.events"
    assert (same.data["person_id"], same.data["linked_person_id"]) == (rhian["person_id"], rhian["person_id"])
    assert (same.data["resolution"], same.data["counted_in_figures"]) == ("same-person", True)
    # The new person's details are in the outbox before the answer that names them.
    types = [t for t, _, _ in written]
    contact_of_theirs = next(
        i
        for i, (t, _, e) in enumerate(written)
        if t == "peerlink.contact.recorded.v1" and e.subject == moved["new_person_id"]
    )
    assert contact_of_theirs < types.index(RESOLVED)
    # Numbered in the referral's own sequence: after its referral.received.
    received = next(e for t, _, e in written if t == "peerlink.referral.received.v1" and e.subject == theirs["id"])
    assert different.sequence == received.sequence + 1


@sqlite_only
def test_a_referral_withdrawn_before_the_answer_is_announced_as_withdrawn(client, tokens, engine, create, act, body):
    create()
    linked = create(stranger(body))
    assert act(linked["id"], "withdraw", reason="by-referrer").status_code == 200
    assert resolve(client, tokens, linked["id"], "different-person").status_code == 200
    (answer,) = [e for t, _, e in outbox_rows(engine) if t == RESOLVED]
    assert answer.data["referral_status"] == "withdrawn"  # notifications acknowledges nothing withdrawn


@sqlite_only
def test_an_answer_refused_or_an_erasure_announces_nobody(client, tokens, engine, create, body):
    rhian = create()
    linked = create(stranger(body))
    assert resolve(client, tokens, linked["id"], "maybe").status_code == 422
    assert client.delete(f"/people/{rhian['person_id']}", headers=tokens.header()).status_code == 204
    assert resolve(client, tokens, linked["id"], "same-person").status_code == 409
    assert [t for t, _, _ in outbox_rows(engine) if t == RESOLVED] == []
