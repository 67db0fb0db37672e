"""The central office under test: its app on SQLite and PostgreSQL, and stories of what
happens at a site, told as the events the site's services would publish."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once a run, for each SQLite test to start from a copy of: a
    copy takes under a millisecond, migrating most of a second. (The migrations themselves
    are tested on a fresh database of each kind in test_reports and test_app.)"""
    path = tmp_path_factory.mktemp("reporting-template") / "reporting.db"
    DEFINITION.migrations.upgrade(f"sqlite:///{path}")
    assert not Path(f"{path}-wal").exists(), "every page in the file itself before it is copied"
    return path


@pytest.fixture
def app(database_url: str, tokens, migrated_sqlite: Path) -> Iterator[Flask]:
    tokens.token("central-reader", "central")
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(migrated_sqlite, database_url.removeprefix("sqlite:///"))
    else:
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


def happened_at(event_type: EventType, data: dict[str, Any]) -> datetime | None:
    """An event's own time: ``<verb>_at`` (``received_at``), by the verb's last word for a verb
    of two (``person-resolved``: ``resolved_at``)."""
    return data.get(f"{event_type.verb.rsplit('-', 1)[-1]}_at")


@dataclass
class SiteStory:
    """Events as a site's services would publish them, with the figures they should make."""

    site: str
    start: datetime = T0
    envelopes: list[Envelope] = field(default_factory=list)
    people: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # referral -> person
    sequences: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def emit(self, event_type: EventType, service: str, subject: Any, **data: Any) -> Envelope:
        """As the service's outbox would: numbered in its aggregate's sequence, at the time it
        happened (the event's own ``<verb>_at``)."""
        loaded = sample_data(event_type, **data)
        envelope = make_envelope(event_type, loaded, site=self.site, service=service, subject=str(subject))
        aggregate = (envelope.source, event_type.aggregate, envelope.subject)
        self.sequences[aggregate] = self.sequences.get(aggregate, 0) + 1
        envelope = dataclasses.replace(
            envelope, sequence=self.sequences[aggregate], time=happened_at(event_type, loaded) or envelope.time
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
            scheduled_at=self.at(day - 7),
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


def eventful_site(site: str, busy: bool = True) -> SiteStory:
    """A busy site (or a quiet one), and every other pseudonymous event type in the histories where the order
    of arrival could change a read model: a mentor updated, paused, resumed and made paid;
    another who leaves; a referral closed, reopened and closed with another outcome; one
    matched, requeued when the match ended, and matched again; one declined, one withdrawn;
    two possible duplicates, a namesake's and hers; an art event changed twice; one cancelled;
    a registration waitlisted, promoted and cancelled; an attendance corrected; a sale voided;
    deliveries sent and failed; outcomes, advocacy and an erasure."""
    story = busy_site(site) if busy else SiteStory(site)
    event = CATALOGUE.__getitem__

    def happen(name: str, service: str, subject: Any, **data: Any) -> None:
        story.emit(event(f"peerlink.{name}.v1"), service, subject, **data)

    giver, person = uuid.uuid4(), uuid.uuid4()
    profile = {"mentor_id": giver, "person_id": person}
    happen("mentor.registered", "matching", giver, **profile, kind="volunteer", capacity=2, registered_at=story.at(1))
    happen("mentor.updated", "matching", giver, **profile, kind="volunteer", capacity=4, updated_at=story.at(5))
    happen("mentor.paused", "matching", giver, mentor_id=giver, reason="burnout", paused_at=story.at(9))
    happen("mentor.resumed", "matching", giver, mentor_id=giver, resumed_at=story.at(20))
    happen("mentor.updated", "matching", giver, **profile, kind="paid", capacity=3, updated_at=story.at(40))
    leaver = story.mentor(capacity=1, day=2)
    happen("mentor.paused", "matching", leaver, mentor_id=leaver, reason="health", paused_at=story.at(6))
    happen("mentor.left", "matching", leaver, mentor_id=leaver, reason="moved-on", left_at=story.at(12))

    twice_closed = story.referral(source="probation", day=3, accept_after=1)
    ids = {"referral_id": twice_closed, "person_id": story.people[twice_closed]}
    match = story.match(twice_closed, giver, day=10, waited=6)
    happen("referral.activated", "referrals", twice_closed, **ids, activated_at=story.at(11))
    happen("referral.closed", "referrals", twice_closed, **ids, outcome="disengaged", closed_at=story.at(30))
    happen("referral.accepted", "referrals", twice_closed, **ids, accepted_at=story.at(35), reentry=True)
    happen("referral.closed", "referrals", twice_closed, **ids, outcome="completed", closed_at=story.at(60))
    match_ids = {**ids, "match_id": match, "mentor_id": giver}
    happen("match.ended", "matching", match, **match_ids, reason="referral-closed", ended_at=story.at(30))

    requeued = story.referral(source="gp", day=4, accept_after=1)
    ids = {"referral_id": requeued, "person_id": story.people[requeued]}
    first = story.match(requeued, leaver, day=8, waited=3)
    happen(
        "match.ended",
        "matching",
        first,
        **ids,
        match_id=first,
        mentor_id=leaver,
        reason="mentor-left",
        ended_at=story.at(12),
    )
    happen(
        "referral.requeued",
        "referrals",
        requeued,
        **ids,
        match_id=first,
        reason="mentor-left",
        requeued_at=story.at(12),
    )
    refused = uuid.uuid4()
    happen(
        "match.proposed",
        "matching",
        refused,
        **ids,
        match_id=refused,
        mentor_id=giver,
        method="run",
        proposed_at=story.at(13),
    )
    happen(
        "match.declined",
        "matching",
        refused,
        **ids,
        match_id=refused,
        mentor_id=giver,
        declined_by="mentee",
        reason="language",
        declined_at=story.at(14),
    )
    story.match(requeued, giver, day=16, waited=4)
    withdrawn = story.referral(source="self", day=5, accept_after=1)
    ids = {"referral_id": withdrawn, "person_id": story.people[withdrawn]}
    dropped = uuid.uuid4()
    happen(
        "match.proposed",
        "matching",
        dropped,
        **ids,
        match_id=dropped,
        mentor_id=giver,
        method="manual",
        proposed_at=story.at(7),
    )
    happen(
        "match.cancelled",
        "matching",
        dropped,
        **ids,
        match_id=dropped,
        mentor_id=giver,
        reason="referral-withdrawn",
        cancelled_at=story.at(8),
    )
    happen(
        "referral.withdrawn",
        "referrals",
        withdrawn,
        **ids,
        reason="by-person",
        from_status="accepted",
        withdrawn_at=story.at(8),
    )
    declined = story.referral(source="family", day=6, decline_after=2)

    # Possible duplicates: two referrals linked to the person first referred as `requeued`. One
    # is a namesake's (a person of their own, triaged as them); the other hers, her record's
    # date of birth putting it in another age band than the one typed.
    known = story.people[requeued]
    namesakes, hers = uuid.uuid4(), uuid.uuid4()
    for referral_id, band, day in ((namesakes, "45-54", 9), (hers, "18-24", 10)):
        happen(
            "referral.received",
            "referrals",
            referral_id,
            referral_id=referral_id,
            person_id=known,
            source="self",
            support_needs=["isolation"],
            age_band=band,
            known_person=True,
            counted_in_figures=True,
            received_at=story.at(day),
        )
    namesake = uuid.uuid4()
    for referral_id, person_id, band, day in ((namesakes, namesake, "45-54", 9), (hers, known, "25-34", 10)):
        happen(
            "referral.person-resolved",
            "referrals",
            referral_id,
            referral_id=referral_id,
            person_id=person_id,
            linked_person_id=known,
            resolution="same-person" if person_id == known else "different-person",
            counted_in_figures=True,
            age_band=band,
            referral_status="received",
            received_at=story.at(day),
            resolved_at=story.at(day + 0.5),
        )
    story.people[namesakes], story.people[hers] = namesake, known
    happen(
        "referral.declined",
        "referrals",
        namesakes,
        referral_id=namesakes,
        person_id=namesake,
        reason="out-of-area",
        declined_at=story.at(11),
    )

    moved = uuid.uuid4()
    schedule = {"event_id": moved, "kind": "exhibition", "capacity": 10, "public": True}
    happen(
        "artevent.scheduled",
        "events",
        moved,
        **schedule,
        starts_at=story.at(50),
        ends_at=story.at(50.2),
        scheduled_at=story.at(20),
    )
    happen(
        "artevent.changed",
        "events",
        moved,
        **{**schedule, "capacity": 20},
        starts_at=story.at(52),
        ends_at=story.at(52.2),
        changed_at=story.at(25),
    )
    happen(
        "artevent.changed",
        "events",
        moved,
        **{**schedule, "capacity": 15},
        starts_at=story.at(51),
        ends_at=story.at(51.2),
        changed_at=story.at(30),
    )
    booked = {"event_id": moved, "person_id": story.people[requeued], "places": 1, "guest_id": None, "mentor_id": None}
    waiting = uuid.uuid4()
    happen("registration.waitlisted", "events", waiting, registration_id=waiting, **booked, waitlisted_at=story.at(31))
    happen("registration.promoted", "events", waiting, registration_id=waiting, **booked, promoted_at=story.at(33))
    happen(
        "registration.cancelled",
        "events",
        waiting,
        registration_id=waiting,
        **booked,
        reason="by-participant",
        was="confirmed",
        cancelled_at=story.at(45),
    )
    came = uuid.uuid4()
    happen(
        "registration.confirmed",
        "events",
        came,
        registration_id=came,
        **{**booked, "places": 2},
        confirmed_at=story.at(32),
    )
    record = uuid.uuid4()
    attendance = {"attendance_id": record, "event_id": moved, "registration_id": came, "person_id": booked["person_id"]}
    happen(
        "attendance.recorded", "events", record, **attendance, status="no-show", headcount=0, recorded_at=story.at(51.1)
    )
    happen(
        "attendance.recorded",
        "events",
        record,
        **attendance,
        status="attended",
        headcount=2,
        recorded_at=story.at(51.3),
    )
    story.session(day=44, attended=1, cancelled=True)

    voided = story.sale(kind="artwork", pence=9_000, day=51)
    happen(
        "sale.voided",
        "events",
        voided,
        sale_id=voided,
        kind="artwork",
        quantity=1,
        amount_pence=9_000,
        artist_share_pence=4_500,
        scheme_share_pence=4_500,
        reason="entered-in-error",
        voided_at=story.at(52),
    )
    delivery = uuid.uuid4()
    happen(
        "notification.sent",
        "notifications",
        delivery,
        delivery_id=delivery,
        channel="email",
        attempts=1,
        sent_at=story.at(3),
    )
    failed = uuid.uuid4()
    happen(
        "notification.failed",
        "notifications",
        failed,
        delivery_id=failed,
        channel="sms",
        attempts=3,
        failed_at=story.at(4),
    )
    check_ins = {"referral_id": twice_closed, "person_id": story.people[twice_closed], "scale": "wemwbs", "maximum": 70}
    baseline, later = uuid.uuid4(), uuid.uuid4()
    happen(
        "outcome.recorded",
        "referrals",
        baseline,
        **check_ins,
        check_in_id=baseline,
        timepoint="baseline",
        score=30,
        baseline_score=None,
        change=None,
        weeks_since_baseline=None,
        recorded_at=story.at(11),
    )
    happen(
        "outcome.recorded",
        "referrals",
        later,
        **check_ins,
        check_in_id=later,
        timepoint="review",
        score=41,
        baseline_score=30,
        change=11,
        weeks_since_baseline=12,
        recorded_at=story.at(95),
    )
    issue = uuid.uuid4()
    advocacy = {"issue_id": issue, "person_id": story.people[declined], "category": "housing"}
    happen("advocacy.opened", "referrals", issue, **advocacy, opened_at=story.at(7))
    happen(
        "advocacy.resolved",
        "referrals",
        issue,
        **advocacy,
        resolution="resolved",
        days_open=9,
        resolved_at=story.at(16),
    )
    erased = story.people[declined]
    happen("person.erased", "referrals", erased, person_id=erased, erased_at=story.at(70))
    return story


@pytest.fixture
def feed(engine: sa.Engine):
    """``feed(envelopes)``: the consumer's work on a batch, straight into this test's database."""
    return lambda envelopes: ingest(engine, envelopes)


@pytest.fixture
def eventful_story():
    """``eventful_story(site, busy=True)``: every event type, in histories where order matters."""
    return eventful_site


@pytest.fixture(name="happened_at")
def _happened_at():
    """``happened_at(event_type, data)``: the event's own time (see the function)."""
    return happened_at


@pytest.fixture
def site_story():
    """``site_story(site, scale=1)``: a busy site's events (see ``busy_site``)."""
    return busy_site
