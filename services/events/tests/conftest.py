from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from events.api.common import CLOCK
from events.app import DEFINITION, create_app
from events.store.tables import artworks, guests
from peerlink.tables import outbox
from peerlink.testing import find_personal_data, settings_for


@dataclass
class Clock:
    """The app's clock, set by the test (registration closes at the start, series horizons);
    it ticks a millisecond at each reading, as time does between two requests."""

    now: datetime

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def clock() -> Clock:
    # Today at noon UTC: the tests' events are "a week from now, 10:00-12:00 site time".
    return Clock(datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0))


@pytest.fixture
def app(database_url: str, tokens, clock: Clock) -> Iterator[Flask]:
    DEFINITION.migrations.upgrade(database_url)
    app = create_app(settings_for("events", database_url=database_url, tokens=tokens.config()))
    app.extensions[CLOCK] = clock
    yield app
    nothing_personal_on_the_pseudonymous_exchange(app.extensions["peerlink"].engine)
    app.extensions["peerlink"].engine.dispose()


def nothing_personal_on_the_pseudonymous_exchange(engine: sa.Engine) -> None:
    """After every API test: no guest's or artist's name or email in any pseudonymous event
    (``peerlink.events`` and ``peerlink.site-only``)."""
    with engine.connect() as conn:
        known = [
            value
            for row in conn.execute(sa.select(guests.c.given_name, guests.c.family_name, guests.c.email))
            for value in row
            if value and value != "[erased]"
        ]
        known += [value for (value,) in conn.execute(sa.select(artworks.c.artist_name)) if value]
        bodies = conn.execute(
            sa.select(outbox.c.body).where(outbox.c.exchange.in_(["peerlink.events", "peerlink.site-only"]))
        ).scalars()
        for body in bodies:
            assert find_personal_data(body, known=tuple(known)) == [], body


@pytest.fixture
def engine(app: Flask) -> sa.Engine:
    return app.extensions["peerlink"].engine  # type: ignore[no-any-return]


class Api:
    """The test client with a role's token on every request; ``expect`` checks the status."""

    def __init__(self, client: Any, tokens: Any):
        self.client = client
        self.tokens = tokens

    def call(self, method: str, path: str, *, role: str = "coordinator", expect: int | None = None, **kwargs: Any):
        headers = {**self.tokens.header(role), **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.get_data(as_text=True)[:2000])
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json if json is not None else {}, **kwargs)

    def patch(self, path: str, json: Any, **kwargs: Any) -> Any:
        return self.call("PATCH", path, json=json, **kwargs)


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def api(client, tokens) -> Api:
    return Api(client, tokens)


def group_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name_cy": "Grŵp celf Glynebwy",
        "name_en": "Ebbw Vale art group",
        "usual_venue": "Ebbw Vale Institute",
        "accessibility_en": "Step-free entrance from Church Street; accessible toilet.",
        "accessibility_cy": "Mynediad heb risiau o Stryd yr Eglwys; toiled hygyrch.",
        **overrides,
    }


@pytest.fixture
def make_group(api: Api) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        return api.post("/groups", group_body(**overrides), expect=201).get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def group(make_group) -> dict[str, Any]:
    return make_group()


@pytest.fixture
def make_event(api: Api, group: dict[str, Any], clock: Clock) -> Callable[..., dict[str, Any]]:
    """An event a week from the test's now, 10:00 to 12:00 site time, unless told otherwise."""

    def make(**overrides: Any) -> dict[str, Any]:
        day = (clock.now + timedelta(days=7)).date()
        body = {
            "group_id": group["id"],
            "kind": "group-session",
            "title_cy": "Sesiwn gelf",
            "title_en": "Art session",
            "starts_at": f"{day}T10:00:00",
            "ends_at": f"{day}T12:00:00",
            "capacity": 10,
            "public": False,
            **overrides,
        }
        return api.post("/events", body, expect=201).get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def emitted(engine: sa.Engine) -> Callable[..., list[dict[str, Any]]]:
    """What the service emitted so far, in order: each envelope with its type and exchange."""
    return lambda event_type=None: outbox_events(engine, event_type)


def starts(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["starts_at"])


@pytest.fixture
def at_start(clock: Clock) -> Callable[..., None]:
    """Set the clock to an event's start, give or take."""
    return lambda event, by=timedelta(): clock.set(starts(event) + by)


def outbox_events(engine: sa.Engine, event_type: str | None = None) -> list[dict[str, Any]]:
    import json

    query = sa.select(outbox.c.event_type, outbox.c.exchange, outbox.c.body).order_by(outbox.c.position)
    if event_type:
        query = query.where(outbox.c.event_type == event_type)
    with engine.connect() as conn:
        return [
            {"type": row.event_type, "exchange": row.exchange, **json.loads(row.body)} for row in conn.execute(query)
        ]
