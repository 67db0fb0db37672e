"""The central office under test: its app on SQLite and PostgreSQL, and stories of what
happens at a site, told as the events the site's services would publish."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from peerlink.contracts import CATALOGUE, EventType
from peerlink.db import write_transaction
from peerlink.envelope import Envelope
from peerlink.subscriptions import Event
from peerlink.testing import make_envelope, sample_data, settings_for
from reporting import handlers
from reporting.app import DEFINITION, create_app

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(database_url: str, tokens) -> Iterator[Flask]:
    tokens.token("central-reader", "central")
    DEFINITION.migrations.upgrade(database_url)
    app = create_app(settings_for("reporting", database_url=database_url, site="central", tokens=tokens.config()))
    yield app
    app.extensions["peerlink"].engine.dispose()


@pytest.fixture
def engine(app: Flask) -> sa.Engine:
    return app.extensions["peerlink"].engine  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def reader(tokens) -> dict[str, str]:
    return tokens.header("central-reader", "central")


def ingest(engine: sa.Engine, envelopes: list[Envelope]) -> None:
    """What the consumer does with a batch, without the broker (the broker test does it for real)."""
    events = [Event(e, CATALOGUE[e.type], CATALOGUE[e.type].load(e.data)) for e in envelopes]
    with write_transaction(engine) as conn:
        for event_type in {e.event_type.name for e in events}:
            run = [e for e in events if e.event_type.name == event_type]
            handlers.on_events(run, conn)


@dataclass
class SiteStory:
    """Events as a site's services would publish them, with the figures they should make."""

    site: str
    start: datetime = T0
    envelopes: list[Envelope] = field(default_factory=list)
    people: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # referral -> person

    def emit(self, event_type: EventType, service: str, subject: Any, **data: Any) -> Envelope:
        envelope = make_envelope(
            event_type, sample_data(event_type, **data), site=self.site, service=service, subject=str(subject)
        )
        self.envelopes.append(envelope)
        return envelope

    def at(self, days: float) -> datetime:
        return self.start + timedelta(days=days)

    def referral(self, *, source="gp", needs=("alcohol",), day=0.0, accept_after=None, decline_after=None) -> uuid.UUID:
        referral_id, person_id = uuid.uuid4(), uuid.uuid4()
        self.people[referral_id] = person_id
        ids = {"referral_id": referral_id, "person_id": person_id}
        self.emit(
            CATALOGUE["peerlink.referral.received.v1"],
            "referrals",
            referral_id,
            **ids,
            source=source,
            support_needs=list(needs),
            received_at=self.at(day),
            counted_in_figures=True,
        )
        if accept_after is not None:
            self.emit(
                CATALOGUE["peerlink.referral.accepted.v1"],
                "referrals",
                referral_id,
                **ids,
                accepted_at=self.at(day + accept_after),
                reentry=False,
            )
        if decline_after is not None:
            self.emit(
                CATALOGUE["peerlink.referral.declined.v1"],
                "referrals",
                referral_id,
                **ids,
                declined_at=self.at(day + decline_after),
            )
        return referral_id

    def mentor(self, *, capacity=3, former_participant=False, day=0.0, kind="volunteer") -> uuid.UUID:
        mentor_id = uuid.uuid4()
        self.emit(
            CATALOGUE["peerlink.mentor.registered.v1"],
            "matching",
            mentor_id,
            mentor_id=mentor_id,
            capacity=capacity,
            kind=kind,
            person_id=uuid.uuid4() if former_participant else None,
            registered_at=self.at(day),
        )
        return mentor_id

    def match(self, referral_id: uuid.UUID, mentor_id: uuid.UUID, *, day: float, waited: int) -> uuid.UUID:
        match_id = uuid.uuid4()
        ids = {
            "match_id": match_id,
            "referral_id": referral_id,
            "person_id": self.people[referral_id],
            "mentor_id": mentor_id,
        }
        self.emit(CATALOGUE["peerlink.match.proposed.v1"], "matching", match_id, **ids, proposed_at=self.at(day - 1))
        self.emit(CATALOGUE["peerlink.match.confirmed.v1"], "matching", match_id, **ids, confirmed_at=self.at(day))
        self.emit(
            CATALOGUE["peerlink.referral.matched.v1"],
            "referrals",
            referral_id,
            referral_id=referral_id,
            person_id=self.people[referral_id],
            match_id=match_id,
            mentor_id=mentor_id,
            matched_at=self.at(day),
            days_waiting=waited,
        )
        return match_id

    def session(
        self, *, day: float, attended=0, no_shows=0, drop_in=0, cancelled=False, kind="group-session"
    ) -> uuid.UUID:
        event_id = uuid.uuid4()
        self.emit(
            CATALOGUE["peerlink.artevent.scheduled.v1"],
            "events",
            event_id,
            event_id=event_id,
            kind=kind,
            starts_at=self.at(day),
            ends_at=self.at(day + 0.1),
        )
        if cancelled:
            self.emit(
                CATALOGUE["peerlink.artevent.cancelled.v1"],
                "events",
                event_id,
                event_id=event_id,
                kind=kind,
                starts_at=self.at(day),
                cancelled_at=self.at(day - 1),
            )
        person_ids = list(self.people.values())
        for n, status in enumerate(["attended"] * attended + ["no-show"] * no_shows):
            self.emit(
                CATALOGUE["peerlink.attendance.recorded.v1"],
                "events",
                event_id,
                event_id=event_id,
                person_id=person_ids[n % len(person_ids)] if person_ids else None,
                registration_id=uuid.uuid4(),
                status=status,
                headcount=1 if status == "attended" else 0,  # as events says it: people present
                recorded_at=self.at(day),
            )
        if drop_in:
            self.emit(
                CATALOGUE["peerlink.attendance.recorded.v1"],
                "events",
                event_id,
                event_id=event_id,
                person_id=None,
                registration_id=None,
                status="drop-in",
                headcount=drop_in,
                recorded_at=self.at(day),
            )
        return event_id

    def sale(self, *, kind="cards", pence=500, quantity=1, day=0.0) -> uuid.UUID:
        sale_id = uuid.uuid4()
        self.emit(
            CATALOGUE["peerlink.sale.recorded.v1"],
            "events",
            sale_id,
            sale_id=sale_id,
            kind=kind,
            quantity=quantity,
            amount_pence=pence,
            artist_share_pence=pence // 2,
            scheme_share_pence=pence - pence // 2,
            recorded_at=self.at(day),
        )
        return sale_id


def busy_site(site: str, scale: int = 1) -> SiteStory:
    """A site's spring: referrals from several sources, mentors, matches, sessions, sales."""
    story = SiteStory(site)
    mentors = [story.mentor(capacity=2 + n % 3, former_participant=n % 3 == 0) for n in range(3 * scale)]
    sources = ["gp", "self", "probation", "drug-alcohol-service", "family", "gp"]
    referrals = []
    for n in range(12 * scale):
        accepted = n % 6 != 5
        referrals.append(
            story.referral(
                source=sources[n % len(sources)],
                needs=("alcohol", "isolation") if n % 2 else ("mental-health",),
                day=n,
                accept_after=2 if accepted else None,
                decline_after=None if accepted else 3,
            )
        )
    for n, referral_id in enumerate(r for i, r in enumerate(referrals) if i % 6 != 5):
        if n % 3 != 2:
            story.match(referral_id, mentors[n % len(mentors)], day=20 + n, waited=10 + 2 * n)
    for week in range(6 * scale):
        story.session(day=7 * week + 1, attended=5, no_shows=1, drop_in=3 if week % 2 else 0, cancelled=week == 3)
    story.sale(kind="auction-lot", pence=12_500, day=30)
    story.sale(kind="cards", pence=300, quantity=12, day=31)
    story.sale(kind="artwork", pence=4_000, day=32)
    return story


@pytest.fixture
def feed(engine: sa.Engine):
    """``feed(envelopes)``: the consumer's work on a batch, straight into this test's database."""
    return lambda envelopes: ingest(engine, envelopes)


@pytest.fixture
def site_story():
    """``site_story(site, scale=1)``: a busy site's events (see ``busy_site``)."""
    return busy_site
