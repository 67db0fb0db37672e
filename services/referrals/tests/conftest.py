import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from peerlink.contracts import MATCH_CONFIRMED
from peerlink.outbox import Producer
from peerlink.tables import outbox
from peerlink.testing import find_personal_data, make_envelope, settings_for
from peerlink.testing.stateful import deliver
from referrals import clock
from referrals.app import DEFINITION, create_app
from referrals.handlers import subscriptions
from referrals.store import people


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated to head, copied for each test (as ``FreshApps`` does):
    migrating a database was most of the time of a short API test."""
    path = tmp_path_factory.mktemp("referrals-template") / "referrals.db"
    DEFINITION.migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def app(database_url: str, tokens, migrated_sqlite: Path) -> Iterator[Flask]:
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        shutil.copyfile(migrated_sqlite, url.database)
    else:
        DEFINITION.migrations.upgrade(database_url)
    app = create_app(settings_for("referrals", database_url=database_url, tokens=tokens.config()))
    yield app
    _no_personal_data_left_the_site(app.extensions["peerlink"].engine)
    app.extensions["peerlink"].engine.dispose()


def _no_personal_data_left_the_site(engine: sa.Engine) -> None:
    """After every API test: nothing on peerlink.events names anyone the test referred."""
    with engine.connect() as conn:
        known = [
            value
            for row in conn.execute(sa.select(people.c.given_name, people.c.family_name, people.c.date_of_birth))
            for value in (row.given_name, row.family_name, str(row.date_of_birth or ""))
            if value and value != "[erased]"
        ]
        bodies = conn.execute(sa.select(outbox.c.body).where(outbox.c.exchange == "peerlink.events")).scalars()
        for body in bodies:
            assert find_personal_data(body, known=tuple(known)) == [], body


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def engine(app: Flask) -> sa.Engine:
    return app.extensions["peerlink"].engine  # type: ignore[no-any-return]


def referral_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "site": "ebbw-vale",
        "person": {
            "given_name": "Rhian",
            "family_name": "Pritchard",
            "date_of_birth": "1985-03-02",
            "preferred_language": "cy",
            "contact": {"email": "rhian@example.org", "phone": "+44 7700 900123", "channels": ["email"]},
        },
        "source": "gp",
        "support_needs": ["alcohol", "isolation"],
        "interests": ["art"],
        "availability": ["tue-pm"],
        "preferences": {"mentor_gender": "female", "welsh_speaking_mentor": True},
        "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
        "risk_flags": ["lone-working-risk"],
        "risk_note": "Prefers meetings in the café, not at home.",
    }
    body.update(overrides)
    return body


def _someone(n: int, **overrides: Any) -> dict[str, Any]:
    """A different person each time (names and contacts), for tests that need several."""
    body = referral_body(**overrides)
    body["person"] = {
        **body["person"],
        "given_name": f"Person{chr(65 + n)}",
        "family_name": f"Family{chr(65 + n)}",
        "date_of_birth": f"{1970 + n}-01-15",
        "contact": {"email": f"person{n}@example.org", "phone": None, "channels": ["email"]},
    }
    return body


@pytest.fixture
def body() -> Callable[..., dict[str, Any]]:
    return referral_body


@pytest.fixture
def someone() -> Callable[..., dict[str, Any]]:
    return _someone


@pytest.fixture
def create(client, tokens) -> Callable[..., dict[str, Any]]:
    def make(payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post("/referrals", json=payload or referral_body(), headers=tokens.header())
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def act(client, tokens) -> Callable[..., Any]:
    def post(referral_id: str, action: str, **body: Any) -> Any:
        return client.post(f"/referrals/{referral_id}/{action}", json=body, headers=tokens.header())

    return post


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Sets the service's clock (``at(moment)``), for the rest of the test or until set again."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return set_to


@pytest.fixture
def confirm_match(engine: sa.Engine) -> Callable[..., None]:
    """Matching confirms a match for a referral (its event, through referrals' own handler)."""

    def confirm(referral: dict[str, Any], confirmed_at: datetime) -> None:
        match_id = uuid.uuid4()
        data = {
            "match_id": match_id,
            "referral_id": uuid.UUID(referral["id"]),
            "person_id": uuid.UUID(referral["person_id"]),
            "mentor_id": uuid.UUID(int=7),
            "confirmed_at": confirmed_at,
        }
        envelope = make_envelope(MATCH_CONFIRMED, data, service="matching", subject=str(match_id))
        outcome = deliver(engine, subscriptions, Producer("ebbw-vale", "referrals"), [envelope])
        assert outcome.failures == [], outcome.failures

    return confirm
