from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from matching import commands
from matching.app import DEFINITION, create_app
from matching.store import mentors
from peerlink.contracts import REFERRAL_ACCEPTED
from peerlink.outbox import Producer, UnitOfWork
from peerlink.tables import outbox
from peerlink.testing import find_personal_data, sample_data, settings_for

TODAY = date.today()


@pytest.fixture
def app(database_url: str, tokens) -> Iterator[Flask]:
    DEFINITION.migrations.upgrade(database_url)
    app = create_app(settings_for("matching", database_url=database_url, tokens=tokens.config()))
    yield app
    _no_personal_data_on_the_events_exchange(app.extensions["peerlink"].engine)
    app.extensions["peerlink"].engine.dispose()


def _no_personal_data_on_the_events_exchange(engine: sa.Engine) -> None:
    """After every API test: nothing on peerlink.events names a mentor or their contact details."""
    with engine.connect() as conn:
        known = [
            value
            for row in conn.execute(sa.select(mentors.c.given_name, mentors.c.family_name))
            for value in (row.given_name, row.family_name)
            if value
        ]
        for body in conn.execute(sa.select(outbox.c.body).where(outbox.c.exchange == "peerlink.events")).scalars():
            assert find_personal_data(body, known=tuple(known)) == [], body


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def as_mentor(database_url: str, tokens) -> Iterator[Callable[[str], Any]]:
    """A client holding a mentor's own token (its label is their mentor id), on the test's database."""
    from peerlink.web.auth import new_token, token_entry

    apps = []

    def make(mentor_id: str) -> Any:
        token = new_token()
        config = ",".join([tokens.config(), token_entry(token, "mentor", "ebbw-vale", mentor_id)])
        app = create_app(settings_for("matching", database_url=database_url, tokens=config))
        apps.append(app)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    yield make
    for app in apps:
        app.extensions["peerlink"].engine.dispose()


@pytest.fixture
def engine(app: Flask) -> sa.Engine:
    return app.extensions["peerlink"].engine  # type: ignore[no-any-return]


def mentor_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "volunteer",
        "contact": {
            "given_name": "Gareth",
            "family_name": "Llewellyn",
            "email": "gareth@example.org",
            "phone": "+44 7700 900456",
            "preferred_language": "cy",
            "channels": ["email", "sms"],
            "safe_to_text": True,
        },
        "gender": "male",
        "languages": ["cy", "en"],
        "lived_experience": ["alcohol", "mental-health"],
        "skills": ["housing"],
        "interests": ["art", "walking"],
        "availability": ["tue-pm", "thu-am"],
        "capacity": 2,
        "safeguarding": {
            "dbs_checked_on": (TODAY - timedelta(days=100)).isoformat(),
            "training_completed_on": (TODAY - timedelta(days=90)).isoformat(),
            "last_supervision_on": (TODAY - timedelta(days=10)).isoformat(),
            "stable_since": (TODAY - timedelta(days=1000)).isoformat(),
        },
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="session")
def body() -> Callable[..., dict[str, Any]]:
    return mentor_body


@pytest.fixture
def register(client, tokens) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        response = client.post("/mentors", json=mentor_body(**overrides), headers=tokens.header())
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def waiting(engine) -> Callable[..., str]:
    """A person waiting for a mentor, as ``referral.accepted`` leaves them; returns the request id."""

    def make(**overrides: Any) -> str:
        preferences = overrides.pop("preferences", {"mentor_gender": "no-preference", "welsh_speaking_mentor": False})
        defaults = {
            "support_needs": ["alcohol", "isolation"],
            "interests": ["art"],
            "availability": ["tue-pm"],
            "preferred_language": "en",
            "priority": False,
            "preferences": preferences,
            "accepted_at": datetime.now(UTC) - timedelta(days=5),
        }
        data = sample_data(REFERRAL_ACCEPTED, **{**defaults, **overrides})
        with UnitOfWork(engine, Producer("ebbw-vale", "matching")) as uow:
            request = commands.referral_accepted(uow, data, site="ebbw-vale")
            uow.commit()
        assert request is not None
        return str(request.id)

    return make


@pytest.fixture
def post(client, tokens) -> Callable[..., Any]:
    def send(path: str, role: str = "coordinator", **body: Any) -> Any:
        return client.post(path, json=body, headers=tokens.header(role))

    return send


def events_of(engine: sa.Engine, event_type: str) -> list[dict[str, Any]]:
    from peerlink.envelope import parse_envelope

    with engine.connect() as conn:
        bodies = conn.execute(
            sa.select(outbox.c.body).where(outbox.c.event_type == event_type).order_by(outbox.c.position)
        ).scalars()
        return [parse_envelope(body).data for body in bodies]


@pytest.fixture
def emitted(engine) -> Callable[[str], list[dict[str, Any]]]:
    return lambda event_type: events_of(engine, event_type)
