"""Who read or changed a public guest's record: every read of their details and every change
leaves an entry (who, what, when, correlation id); a refused change leaves none; only
coordinators read the trail, and it outlives the guest's erasure without their details."""

import uuid
from datetime import timedelta

import sqlalchemy as sa

from events.store.tables import audit_log

GUEST = {"given_name": "Sioned", "family_name": "Pritchard", "email": "sioned@example.org", "channels": ["email"]}


def test_reads_and_changes_of_a_guests_record_leave_entries_and_survive_the_erasure(api, make_event, engine):
    event = make_event(public=True, capacity=5)
    base = f"/events/{event['id']}/registrations"
    correlation = str(uuid.uuid4())
    made = api.post(base, {"guest": GUEST}, expect=201, headers={"X-Correlation-ID": correlation}).get_json()
    guest = made["guest_id"]
    api.get(base, expect=200, role="facilitator")  # the door list shows their email
    api.get(base, expect=200, role="service")  # no details for the service: no entry
    api.get(f"{base}/{made['id']}", expect=200)
    api.get(f"/events/{event['id']}/attendance", expect=200)
    api.get(f"/guests/{guest}", expect=200)
    api.post(f"/guests/{guest}/erase", expect=200)
    api.post(f"/guests/{guest}/erase", expect=409)  # already erased: refused, no second entry
    trail = api.get(f"/guests/{guest}/audit", expect=200).get_json()
    entries = trail["items"][::-1]
    assert [(e["action"], e["what"], e["role"]) for e in entries] == [
        ("change", "POST /events/<uuid:event_id>/registrations", "coordinator"),
        ("read", "GET /events/<uuid:event_id>/registrations", "facilitator"),
        ("read", "GET /events/<uuid:event_id>/registrations/<uuid:registration_id>", "coordinator"),
        ("read", "GET /events/<uuid:event_id>/attendance", "coordinator"),
        ("read", "GET /guests/<uuid:guest_id>", "coordinator"),
        ("erase", "POST /guests/<uuid:guest_id>/erase", "coordinator"),
    ]
    assert entries[0]["correlation_id"] == correlation and entries[0]["related_id"] == made["id"]
    assert all(e["at"] and e["actor"] == e["role"] and e["subject_id"] == guest for e in entries)
    with engine.connect() as conn:
        text = " ".join(str(v) for row in conn.execute(sa.select(audit_log)) for v in row)
    assert not any(detail in text for detail in ("Sioned", "Pritchard", "sioned@example.org"))
    print(f"entries: {trail['total']}, after the erasure: all kept, personal details in them: 0")


def test_only_a_coordinator_reads_a_guests_trail(api, make_event):
    event = make_event(public=True)
    guest = api.post(f"/events/{event['id']}/registrations", {"guest": GUEST}, expect=201).get_json()["guest_id"]
    for role in ("facilitator", "mentor", "service"):
        api.get(f"/guests/{guest}/audit", role=role, expect=403)
    unknown = api.get(f"/guests/{uuid.uuid4()}/audit", expect=404)
    assert unknown.content_type == "application/problem+json"
    api.get(f"/guests/{guest}/audit?limit=0", expect=422)
    assert api.get(f"/guests/{guest}/audit?offset=1", expect=200).get_json()["items"] == []


def test_marking_whether_a_guest_came_leaves_an_entry_in_the_marks_own_transaction(api, make_event, at_start, engine):
    event = make_event(public=True, capacity=5)
    base = f"/events/{event['id']}"
    made = api.post(f"{base}/registrations", {"guest": GUEST}, expect=201).get_json()
    participant = api.post(f"{base}/registrations", {"person_id": str(uuid.uuid4())}, expect=201).get_json()
    mark = {"status": "attended", "registration_id": made["id"]}
    api.post(f"{base}/attendance", mark, expect=409)  # not open yet: refused, no entry
    at_start(event, timedelta(minutes=5))
    api.post(f"{base}/attendance", mark, role="facilitator", expect=201)
    api.post(f"{base}/attendance", {**mark, "status": "no-show"}, expect=201)  # a correction: another entry
    api.post(f"{base}/attendance", {"status": "attended", "registration_id": participant["id"]}, expect=201)
    api.post(f"{base}/attendance", {"status": "drop-in", "headcount": 4}, expect=201)  # nobody's record
    entries = api.get(f"/guests/{made['guest_id']}/audit", expect=200).get_json()["items"][::-1]
    assert [(e["action"], e["what"], e["role"], e["related_id"]) for e in entries] == [
        ("change", "POST /events/<uuid:event_id>/registrations", "coordinator", made["id"]),
        ("change", "POST /events/<uuid:event_id>/attendance", "facilitator", made["id"]),
        ("change", "POST /events/<uuid:event_id>/attendance", "coordinator", made["id"]),
    ]
    with engine.connect() as conn:
        subjects = {row.subject_id for row in conn.execute(sa.select(audit_log.c.subject_id))}
    assert subjects == {uuid.UUID(made["guest_id"])}  # the participant's and the drop-in's marks: none

    # Without a trail to write to, the mark is not made either: they commit together or not at all.
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {audit_log.name} RENAME TO audit_away"))
    try:
        api.post(f"{base}/attendance", mark, expect=500)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE audit_away RENAME TO {audit_log.name}"))
    register = api.get(f"{base}/attendance", expect=200).get_json()
    assert [r["attendance"]["status"] for r in register["items"] if r["id"] == made["id"]] == ["no-show"]
