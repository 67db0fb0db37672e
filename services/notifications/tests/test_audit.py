"""Who read or changed a recipient's record (contact details, preferences, coordinators): every
read and change leaves an entry (who, what, when, correlation id); a refused change leaves none;
only coordinators read the trail."""

import uuid

import pytest
import sqlalchemy as sa

from notifications.app import DEFINITION, create_app
from notifications.store import audit_log
from peerlink.testing import settings_for


@pytest.fixture
def app(database_url, tokens):
    DEFINITION.migrations.upgrade(database_url)
    app = create_app(settings_for("notifications", database_url=database_url, tokens=tokens.config()))
    yield app
    app.extensions["peerlink"].engine.dispose()


@pytest.fixture
def engine(app):
    return app.extensions["peerlink"].engine


@pytest.fixture
def client(app):
    return app.test_client()


def test_reads_and_changes_of_a_recipients_record_leave_entries_and_a_refused_one_none(client, tokens, person, engine):
    rhian = person()
    header = tokens.header()
    correlation = str(uuid.uuid4())
    read = client.get(f"/people/{rhian}/preferences", headers={**header, "X-Correlation-ID": correlation})
    assert read.status_code == 200
    assert client.put(f"/people/{rhian}/preferences", json={"channels": ["email"]}, headers=header).status_code == 200
    refused = client.put(f"/people/{rhian}/preferences", json={"digest": "daily"}, headers=header)
    assert refused.status_code == 422  # only coordinators take a digest: nothing written, no entry
    assert client.get(f"/people/{rhian}/preferences", headers=tokens.header("service")).status_code == 200
    trail = client.get(f"/people/{rhian}/audit", headers=header)
    assert trail.status_code == 200, trail.get_json()
    entries = trail.get_json()["items"][::-1]
    assert [(e["action"], e["what"], e["role"]) for e in entries] == [
        ("read", "GET /people/<uuid:recipient_id>/preferences", "coordinator"),
        ("change", "PUT /people/<uuid:recipient_id>/preferences", "coordinator"),
        ("read", "GET /people/<uuid:recipient_id>/preferences", "service"),
    ]
    assert entries[0]["correlation_id"] == correlation and all(e["at"] and e["actor"] for e in entries)
    print(f"requests: 4, refused: 1, entries: {len(entries)}")


def test_coordinators_details_reads_and_removal_are_recorded_without_their_details(client, tokens, engine):
    header = tokens.header()
    sian = str(uuid.uuid4())
    body = {"given_name": "Siân", "email": "sian@example.org"}
    assert client.put(f"/coordinators/{sian}", json=body, headers=header).status_code == 200
    assert client.get("/coordinators", headers=header).status_code == 200
    assert client.delete(f"/coordinators/{sian}", headers=header).status_code == 204
    assert client.delete(f"/coordinators/{sian}", headers=header).status_code == 404  # refused: no entry
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.position)).all()
    assert [(r.action, r.what) for r in rows] == [
        ("change", "PUT /coordinators/<uuid:coordinator_id>"),
        ("read", "GET /coordinators"),
        ("erase", "DELETE /coordinators/<uuid:coordinator_id>"),
    ]
    text = " ".join(str(v) for row in rows for v in row)
    assert "Siân" not in text and "sian@example.org" not in text
    # Their trail outlives their removal.
    assert client.get(f"/people/{sian}/audit", headers=header).get_json()["total"] == 3


def test_only_a_coordinator_reads_a_recipients_trail(client, tokens, person):
    rhian = person()
    assert client.get(f"/people/{rhian}/audit", headers=tokens.header("service")).status_code == 403
    unknown = client.get(f"/people/{uuid.uuid4()}/audit", headers=tokens.header())
    assert unknown.status_code == 404 and unknown.content_type == "application/problem+json"
    assert client.get(f"/people/{rhian}/audit?limit=0", headers=tokens.header()).status_code == 422
