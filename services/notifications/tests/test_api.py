"""The HTTP API: the delivery log, preferences, coordinators, templates and their preview, the
records; who may call what; bad input refused as problem+json with nothing written."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from notifications import commands, store
from notifications.app import DEFINITION, create_app
from peerlink.contracts.vocabulary import MESSAGE_KINDS
from peerlink.db import write_transaction
from peerlink.testing import count_rows, settings_for, sqlite_only

# Requests answered or refused without touching the database are tested on SQLite only
# (`sqlite_only`): one backend shows it.


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


@pytest.fixture
def get(client, tokens):
    def call(path, role="coordinator", **params):
        return client.get(path, query_string=params, headers=tokens.header(role))

    return call


@pytest.fixture
def put(client, tokens):
    def call(path, body, role="coordinator"):
        return client.put(path, json=body, headers=tokens.header(role))

    return call


def is_problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()


# The delivery log ---------------------------------------------------------------------------


@pytest.fixture
def logged(engine, person, owe):
    """Two people owed an acknowledgement: Rhian's email sent (her text skipped: she agreed to
    email only), Gareth's email and text still pending."""
    rhian, gareth = person(), person(given_name="Gareth", email="gareth@example.org", channels=("email", "sms"))
    owe(rhian)
    owe(gareth)
    with write_transaction(engine) as conn:
        sent = conn.execute(
            sa.select(store.deliveries.c.id).where(
                store.deliveries.c.recipient_id == rhian, store.deliveries.c.channel == "email"
            )
        ).scalar_one()
        conn.execute(
            store.deliveries.update()
            .where(store.deliveries.c.id == sent)
            .values(status="sent", subject="Rydym wedi derbyn", body="Helo Rhian", languages="cy", attempts=1)
        )
    return rhian, gareth, sent


def test_the_log_lists_deliveries_newest_first_with_filters_and_a_total(get, logged):
    _, gareth, sent = logged
    everything = get("/deliveries")
    assert everything.status_code == 200 and everything.headers["X-Total-Count"] == "4"
    # Rhian agreed to email only: her text was skipped as soon as it was owed.
    assert {row["status"] for row in everything.get_json()} == {"sent", "pending", "skipped"}
    (one,) = get("/deliveries", status="sent").get_json()
    assert (one["id"], one["languages"], one["due_at"]) == (str(sent), ["cy"], None)
    assert "body" not in one and "subject" not in one
    assert len(get("/deliveries", recipient_id=gareth).get_json()) == 2
    assert len(get("/deliveries", person_id=gareth, channel="sms").get_json()) == 1
    page = get("/deliveries", limit=1, offset=1)
    assert len(page.get_json()) == 1 and page.headers["X-Total-Count"] == "4"
    assert get("/deliveries", role="service").status_code == 200


def test_a_delivery_shows_what_it_said_to_coordinators_only(get, logged):
    _, _, sent = logged
    mine = get(f"/deliveries/{sent}").get_json()
    assert (mine["subject"], mine["body"], mine["values"]) == (
        "Rydym wedi derbyn",
        "Helo Rhian",
        {"reference": "5F0C6F0E"},
    )
    theirs = get(f"/deliveries/{sent}", role="service").get_json()
    assert theirs.get("body") is None and theirs["status"] == "sent"
    is_problem(get(f"/deliveries/{uuid.uuid4()}"), 404)


def test_the_summary_counts_by_kind_channel_and_status(get, logged):
    counts = {(c["kind"], c["channel"], c["status"]): c["count"] for c in get("/deliveries/summary").get_json()}
    assert counts == {
        ("referral-acknowledged", "email", "pending"): 1,
        ("referral-acknowledged", "email", "sent"): 1,
        ("referral-acknowledged", "sms", "pending"): 1,
        ("referral-acknowledged", "sms", "skipped"): 1,
    }


@sqlite_only
@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "lost"}, "status"),
        ({"kind": "love-letter"}, "kind"),
        ({"limit": "0"}, "limit"),
        ({"recipient_id": "rhian"}, "recipient_id"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_a_bad_filter_is_a_problem_naming_it(get, params, parameter):
    problem = is_problem(get("/deliveries", **params), 422)
    assert [e["parameter"] for e in problem["errors"]] == [parameter]


@sqlite_only
@pytest.mark.parametrize("path", ["/deliveries", "/deliveries/summary", "/reminders", "/compliance/language-decisions"])
def test_an_offset_past_what_the_database_counts_is_a_problem(get, path):
    """2**63 overflowed OFFSET in the database: a 500 before (found by schemathesis)."""
    problem = is_problem(get(path, offset=str(2**63)), 422)
    assert [e["parameter"] for e in problem["errors"]] == ["offset"]


@sqlite_only
def test_who_may_read_the_log(client, tokens):
    is_problem(client.get("/deliveries"), 401)
    is_problem(client.get("/deliveries", headers=tokens.header("coordinator", "merthyr")), 403)
    is_problem(client.get("/deliveries", headers=tokens.header("mentor")), 403)


# Preferences ------------------------------------------------------------------------------


def test_preferences_narrow_consent_and_say_where_messages_now_go(get, put, person):
    rhian = person(channels=("email", "sms"), language=None)
    before = get(f"/people/{rhian}/preferences").get_json()
    assert before["effective_channels"] == ["email", "sms"] and before["languages"] == ["cy", "en"]
    chosen = {
        "channels": ["sms"],
        "language": "en",
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "opt_out": ["event-reminder"],
    }
    response = put(f"/people/{rhian}/preferences", chosen)
    assert response.status_code == 200, response.get_json()
    after = get(f"/people/{rhian}/preferences").get_json()
    assert after["preferences"] == {**chosen, "digest": "each"}
    assert after["effective_channels"] == ["sms"] and after["languages"] == ["en"]
    assert after["consented_channels"] == ["email", "sms"] and after["updated_by"] == "coordinator"


def test_preferences_may_come_before_contact_details_but_never_grant_consent(get, put, person):
    someone = str(uuid.uuid4())
    assert put(f"/people/{someone}/preferences", {"channels": ["email", "sms"]}).status_code == 200
    early = get(f"/people/{someone}/preferences").get_json()
    assert early["contact_known"] is False and early["effective_channels"] == []
    person(recipient_id=someone, channels=("email",))
    assert get(f"/people/{someone}/preferences").get_json()["effective_channels"] == ["email"]


@sqlite_only
@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"channels": ["pigeon"]}, "/channels/0"),
        ({"channels": ["sms", "sms"]}, "/channels"),
        ({"language": "fr"}, "/language"),
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "/quiet_hours/start"),
        ({"quiet_hours": {"start": "21:00", "end": "21:00"}}, "/quiet_hours/end"),
        ({"quiet_hours": {"start": "21:00"}}, "/quiet_hours/end"),
        ({"opt_out": ["spam"]}, "/opt_out/0"),
        ({"digest": "weekly"}, "/digest"),
        ({"colour": "blue"}, "/colour"),
    ],
)
def test_bad_preferences_are_refused_with_the_field_and_nothing_is_written(engine, put, person, body, pointer):
    rhian = person()
    problem = is_problem(put(f"/people/{rhian}/preferences", body), 422)
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert count_rows(engine, store.preferences) == 0


def test_only_coordinators_take_a_daily_digest(engine, put, person):
    problem = is_problem(put(f"/people/{person()}/preferences", {"digest": "daily"}), 422)
    assert problem["errors"] == [{"pointer": "/digest", "detail": "Only coordinators get a daily digest."}]
    assert count_rows(engine, store.preferences) == 0


def test_the_preferences_of_someone_erased_or_unknown(engine, get, put, person):
    rhian = person()
    with write_transaction(engine) as conn:
        commands.erase_person(conn, rhian, datetime.now(UTC))
    is_problem(put(f"/people/{rhian}/preferences", {}), 409)
    is_problem(get(f"/people/{rhian}/preferences"), 404)
    is_problem(get(f"/people/{uuid.uuid4()}/preferences"), 404)
    is_problem(put(f"/people/{uuid.uuid4()}/preferences", {}, role="service"), 403)


@sqlite_only
def test_a_body_that_is_not_json_is_refused(client, tokens, person):
    response = client.put(
        f"/people/{person()}/preferences", data="channels=sms", headers=tokens.header(), content_type="text/plain"
    )
    is_problem(response, 415)


# Coordinators -----------------------------------------------------------------------------


def test_coordinators_are_added_changed_listed_and_removed(engine, get, put, client, tokens, person, owe):
    carys = str(uuid.uuid4())
    body = {"given_name": "Carys", "email": "carys@example.org", "preferred_language": "cy"}
    assert put(f"/coordinators/{carys}", body).get_json() == {**body, "id": carys, "digest": "each"}
    assert put(f"/people/{carys}/preferences", {"digest": "daily"}).status_code == 200
    assert get("/coordinators").get_json() == [{**body, "id": carys, "digest": "daily"}]
    owe(carys, kind="referral-received-coordinator", audience="coordinator")
    assert client.delete(f"/coordinators/{carys}", headers=tokens.header()).status_code == 204
    assert get("/coordinators").get_json() == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(store.deliveries.c.reason)).scalar_one() == "recipient-removed"
    is_problem(client.delete(f"/coordinators/{carys}", headers=tokens.header()), 404)


def test_a_coordinator_cannot_take_the_id_of_someone_else_and_needs_an_email(engine, put, person):
    rhian = person()
    is_problem(put(f"/coordinators/{rhian}", {"given_name": "Carys", "email": "carys@example.org"}), 409)
    problem = is_problem(put(f"/coordinators/{uuid.uuid4()}", {"given_name": "Carys", "email": "carys"}), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/email"]
    assert count_rows(engine, store.recipients) == 1


def test_a_coordinator_whose_name_holds_a_nul_is_refused_and_nothing_is_written(engine, put, person):
    """PostgreSQL cannot keep a NUL in text: it was a 500 (found by schemathesis), now a 422."""
    problem = is_problem(
        put(f"/coordinators/{uuid.uuid4()}", {"given_name": "Ca\x00rys", "email": "c@example.org"}), 422
    )
    assert [e["pointer"] for e in problem["errors"]] == ["/given_name"]
    assert count_rows(engine, store.recipients) == 0


# Templates --------------------------------------------------------------------------------


@sqlite_only
def test_every_kind_is_listed_ready_with_its_welsh_and_english_files(get):
    listed = get("/templates", role="service").get_json()
    assert [t["kind"] for t in listed] == list(MESSAGE_KINDS)
    assert all(t["ready"] and t["problem"] is None for t in listed)
    reminder = next(t for t in listed if t["kind"] == "event-reminder")
    assert reminder["files"] == [
        {"language": "cy", "name": "event-reminder.cy.j2", "revision": 1},
        {"language": "en", "name": "event-reminder.en.j2", "revision": 1},
    ]
    detail = get("/templates/event-reminder").get_json()
    assert detail["sources"]["cy"].startswith("{# revision: 1 #}")
    is_problem(get("/templates/love-letter"), 404)


@sqlite_only
def test_a_preview_shows_email_and_text_as_the_recipient_would_get_them(client, tokens):
    response = client.post(
        "/templates/event-reminder/preview",
        json={"language": "both", "given_name": "Sioned", "values": {"venue": "Merthyr Library"}},
        headers=tokens.header(),
    )
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert preview["subject"].startswith("Nodyn atgoffa: Grŵp celf Glynebwy") and preview["languages"] == ["cy", "en"]
    assert "Helo Sioned" in preview["body"] and "Ble: Merthyr Library" in preview["body"]
    assert preview["sms"]["encoding"] == "UCS-2" and preview["sms"]["segments"] >= 2
    assert preview["sms"]["indiscreet_words"] == []
    english = client.post("/templates/digest/preview", json={"language": "en"}, headers=tokens.header()).get_json()
    assert english["languages"] == ["en"] and english["sms"] is None


@sqlite_only
@pytest.mark.parametrize(
    ("body", "status"),
    [({"language": "fr"}, 422), ({"values": "nothing"}, 422), ({"values": {"places": "many"}}, 422)],
)
def test_a_preview_with_bad_input_is_a_problem(client, tokens, body, status):
    response = client.post("/templates/registration-confirmed/preview", json=body, headers=tokens.header())
    is_problem(response, status)


# Records ----------------------------------------------------------------------------------


def test_reminders_and_language_decisions_are_listed(engine, get, person):
    someone = person(language=None)
    starts = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with write_transaction(engine) as conn:
        commands.schedule_reminder(
            conn,
            registration_id="r-1",
            art_event_id="e-1",
            recipient_id=someone,
            audience="person",
            starts_at=starts,
            booked_at=datetime(2026, 11, 1, tzinfo=UTC),
            now=datetime.now(UTC),
        )
    (reminder,) = get("/reminders", art_event_id=str(uuid.uuid4())).get_json() or [None]
    assert reminder is None
    (reminder,) = get("/reminders", status="scheduled").get_json()
    assert reminder["due_at"] == "2026-11-30T10:00:00+00:00" and reminder["recipient_id"] == someone
    assert get("/compliance/language-decisions", role="service").get_json() == []
    is_problem(get("/reminders", status="lost"), 422)
