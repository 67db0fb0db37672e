import json
import logging

import pytest
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from peerlink.contracts import REFERRAL_RECEIVED
from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import sample_data, settings_for
from peerlink.web import PROBLEM_JSON, create_service_app, current_principal, public, requires, service

LOG_ID = "2b8f4f0e-6c2a-4c8e-9d1a-5e7f3a2b1c00"
REQUEST_ID = "9d5c0d0e-4a4f-4d62-8a57-1f0c9b7e2a11"


class NoteIn(Schema):
    text = fields.String(required=True)
    count = fields.Integer(required=True)


def make_blueprint() -> Blueprint:
    blueprint = Blueprint("notes", __name__, url_prefix="/notes")

    @blueprint.route("")
    class Notes(MethodView):
        @requires("coordinator")
        @blueprint.arguments(NoteIn)
        @blueprint.response(201)
        def post(self, body):
            with service().unit_of_work() as uow:
                uow.emit(REFERRAL_RECEIVED, subject="n-1", data=sample_data(REFERRAL_RECEIVED))
                uow.commit()
            return {"role": current_principal().role}

        @requires("coordinator", "mentor")
        @blueprint.response(200)
        def get(self):
            return {"role": current_principal().role}

    @blueprint.route("/boom")
    @requires("coordinator")
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    @blueprint.route("/conflict")
    @requires("coordinator")
    def conflict():
        abort(409, message="Already there.")

    @blueprint.route("/open")
    @public
    def open_page():
        return {"public": True}

    return blueprint


@pytest.fixture
def app(engine, tokens):
    settings = settings_for(
        "referrals", database_url=str(engine.url.render_as_string(hide_password=False)), tokens=tokens.config()
    )
    return create_service_app(settings, engine, title="t", description="d", blueprints=[make_blueprint()])


@pytest.fixture
def client(app):
    return app.test_client()


def assert_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    return body


def test_every_endpoint_must_say_who_may_call_it(engine, tokens):
    blueprint = Blueprint("bad", __name__)

    @blueprint.route("/forgotten")
    def forgotten():
        return {}

    settings = settings_for("referrals", database_url="sqlite://", tokens=tokens.config())
    with pytest.raises(RuntimeError, match="/forgotten"):
        create_service_app(settings, engine, title="t", description="d", blueprints=[blueprint])


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ({}, 401, "A bearer token is required."),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, 401, "A bearer token is required."),
        ({"Authorization": "Bearer not-a-token"}, 401, "The bearer token is not valid."),
    ],
)
def test_requests_without_a_valid_token_are_refused(client, headers, status, detail):
    body = assert_problem(client.get("/notes", headers=headers), status)
    assert body["detail"] == detail


def test_a_token_of_another_site_gets_nothing(client, tokens):
    body = assert_problem(client.get("/notes", headers=tokens.header("coordinator", "merthyr")), 403)
    assert "another site" in body["detail"]


@pytest.mark.parametrize(
    ("role", "method", "status"),
    [
        ("coordinator", "get", 200),
        ("mentor", "get", 200),
        ("facilitator", "get", 403),
        ("central-reader", "get", 403),
        ("mentor", "post", 403),
    ],
)
def test_roles_are_enforced_per_endpoint(client, tokens, role, method, status):
    response = getattr(client, method)("/notes", headers=tokens.header(role), json={"text": "x", "count": 1})
    assert response.status_code == status
    if status == 200:
        assert response.get_json() == {"role": role}


def test_validation_errors_point_at_each_field(client, tokens):
    response = client.post("/notes", headers=tokens.header(), json={"count": "many", "extra": 1})
    body = assert_problem(response, 422)
    assert {(e["pointer"], e["detail"]) for e in body["errors"]} == {
        ("/text", "Missing data for required field."),
        ("/count", "Not a valid integer."),
        ("/extra", "Unknown field."),
    }


def test_bad_json_too_big_and_not_json_are_clear_errors(client, tokens):
    headers = {**tokens.header(), "Content-Type": "application/json"}
    assert_problem(client.post("/notes", headers=headers, data="{nope"), 400)
    assert_problem(client.post("/notes", headers=headers, data="[" + "1," * 40000 + "1]"), 413)
    assert_problem(client.post("/notes", headers={**tokens.header(), "Content-Type": "text/plain"}, data="hi"), 415)


def test_text_no_database_can_keep_is_refused_naming_the_field(client, tokens, engine):
    """NUL (PostgreSQL refuses it) and a lone surrogate (no UTF-8 for it) were 500s (schemathesis)."""
    headers = {**tokens.header(), "Content-Type": "application/json"}
    nul = assert_problem(client.post("/notes", headers=headers, data='{"text": "a\\u0000b", "count": 1}'), 422)
    assert nul["errors"] == [
        {"pointer": "/text", "detail": "Text may not contain NUL characters or unpaired surrogates."}
    ]
    half = assert_problem(client.post("/notes", headers=headers, data='{"text": "\\ud800", "count": 1}'), 422)
    assert [e["pointer"] for e in half["errors"]] == ["/text"]
    query = assert_problem(client.get("/notes?text=a%00b", headers=tokens.header()), 422)
    assert [e["parameter"] for e in query["errors"]] == ["text"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0
    assert (
        client.post("/notes", headers=tokens.header(), json={"text": "Merthyr Tudful ✓", "count": 1}).status_code == 201
    )


def test_unknown_routes_and_methods_are_problems_too(client, tokens):
    assert_problem(client.get("/nowhere", headers=tokens.header()), 404)
    response = client.delete("/notes", headers=tokens.header())
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_problem(client.get("/notes/conflict", headers=tokens.header()), 409)


def test_an_unexpected_error_is_logged_but_never_shown(client, tokens, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get("/notes/boom", headers=tokens.header())
    body = assert_problem(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["detail"] == "Something went wrong on our side; it has been logged."
    assert any("secret internals" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_the_correlation_id_runs_from_the_request_into_its_events(client, tokens, engine):
    response = client.post(
        "/notes", headers={**tokens.header(), "X-Correlation-ID": REQUEST_ID}, json={"text": "x", "count": 1}
    )
    assert response.status_code == 201
    assert response.headers["X-Correlation-ID"] == REQUEST_ID
    with engine.connect() as conn:
        envelope = parse_envelope(conn.execute(sa.select(outbox.c.body)).scalar_one())
    assert envelope.correlationid == REQUEST_ID


def test_a_correlation_id_is_made_when_absent_or_unacceptable(client, tokens):
    made = client.get("/notes", headers=tokens.header()).headers["X-Correlation-ID"]
    assert len(made) == 36
    replaced = client.get("/notes", headers={**tokens.header(), "X-Correlation-ID": "rhian-pritchard"})
    assert replaced.headers["X-Correlation-ID"] != "rhian-pritchard"


def test_logs_are_json_lines_with_the_correlation_id(app, tokens, capsys):
    from peerlink.logging import configure_logging

    configure_logging("referrals", "ebbw-vale")
    try:
        app.test_client().get("/notes", headers={**tokens.header(), "X-Correlation-ID": LOG_ID})
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line["message"] == "request")
    assert request_line["correlation_id"] == LOG_ID
    assert request_line["service"] == "referrals" and request_line["site"] == "ebbw-vale"
    assert request_line["status"] == 200


def test_health_metrics_and_openapi_need_no_token(client):
    assert client.get("/health/live").get_json() == {"status": "ok"}
    assert client.get("/notes/open").status_code == 200
    assert b"peerlink_http_request_seconds" in client.get("/metrics").data
    document = client.get("/openapi.json").get_json()
    assert "/notes" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    error = document["components"]["responses"]["UNPROCESSABLE_ENTITY"]
    assert PROBLEM_JSON in error["content"]


def test_readiness_checks_the_database_and_the_broker(engine, tokens, amqp_url):
    url = engine.url.render_as_string(hide_password=False)
    ready = create_service_app(
        settings_for("referrals", database_url=url, amqp_url=amqp_url),
        engine,
        title="t",
        description="d",
        blueprints=[],
    )
    response = ready.test_client().get("/health/ready")
    assert response.status_code == 200, response.get_json()
    unready = create_service_app(
        settings_for("referrals", database_url=url, amqp_url="amqp://guest:guest@127.0.0.1:1/none"),
        engine,
        title="t",
        description="d",
        blueprints=[],
    )
    response = unready.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "ok"
    assert response.get_json()["checks"]["broker"] != "ok"


def test_a_request_while_the_database_is_away_is_a_503_to_retry_not_a_500(tokens):
    """Nothing listens on the port: the same refusal a restarting PostgreSQL gives."""
    from peerlink.db import create_engine
    from peerlink.testing import free_port

    url = f"postgresql://127.0.0.1:{free_port()}/gone"
    engine = create_engine(url)
    app = create_service_app(
        settings_for("referrals", database_url=url, tokens=tokens.config()),
        engine,
        title="t",
        description="d",
        blueprints=[make_blueprint()],
    )
    response = app.test_client().post("/notes", headers=tokens.header(), json={"text": "x", "count": 1})
    body = assert_problem(response, 503)
    assert response.headers["Retry-After"] == "2"
    assert "retry" in body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    engine.dispose()


def test_a_database_error_that_is_not_an_outage_is_still_a_500(engine, tokens):
    blueprint = Blueprint("broken", __name__, url_prefix="/broken")

    @blueprint.route("")
    @requires("coordinator")
    def broken():
        with service().engine.connect() as conn:  # the database is there; the SQL is wrong
            conn.execute(sa.text("SELECT * FROM no_such_table"))

    url = engine.url.render_as_string(hide_password=False)
    app = create_service_app(
        settings_for("referrals", database_url=url, tokens=tokens.config()),
        engine,
        title="t",
        description="d",
        blueprints=[blueprint],
    )
    assert_problem(app.test_client().get("/broken", headers=tokens.header()), 500)
