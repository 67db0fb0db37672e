"""Who read or changed a public guest's record: every read of their details and every change
leaves an entry (who, what, when, correlation id); a refused change leaves none; only
coordinators read the trail, and it outlives the guest's erasure without their details."""

import uuid

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
