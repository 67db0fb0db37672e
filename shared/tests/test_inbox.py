"""Handling a batch in one transaction, each event once, without a broker."""

import pytest
import sqlalchemy as sa

from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.inbox import handle_batch
from peerlink.subscriptions import Event, Subscriptions
from peerlink.tables import inbox
from peerlink.testing import count_rows, make_envelope


def event(event_type=REFERRAL_RECEIVED) -> Event:
    envelope = make_envelope(event_type)
    return Event(envelope, event_type, event_type.load(envelope.data))


@pytest.fixture
def log():
    return []


@pytest.fixture
def subscriptions(effects, log):
    subs = Subscriptions("inboxtest")

    @subs.on(CONTACT_RECORDED)
    def one_at_a_time(e, tx):
        log.append(("one", [e.id]))
        tx.connection.execute(effects.insert().values(event_id=e.id, note="one"))
        if e.data["given_name"] == "Fail":
            raise RuntimeError("cannot")

    @subs.on_batch(REFERRAL_RECEIVED)
    def many_at_once(events, conn):
        log.append(("batch", [e.id for e in events]))
        if any(e.data["source"] == "probation" for e in events):
            raise RuntimeError("a bad one in the batch")
        conn.execute(effects.insert(), [{"event_id": e.id, "note": "batch"} for e in events])

    return subs


def test_consecutive_events_of_a_batch_handled_type_arrive_together_in_order(engine, subscriptions, producer, log):
    a, b, c, d = event(), event(), event(CONTACT_RECORDED), event()
    outcome = handle_batch(engine, subscriptions, producer, [a, b, c, d])
    assert log == [("batch", [a.id, b.id]), ("one", [c.id]), ("batch", [d.id])]
    assert [e.id for e in outcome.handled] == [a.id, b.id, c.id, d.id]
    assert count_rows(engine, inbox) == 4


def test_a_failure_rolls_back_only_the_failing_events_and_the_rest_commit(
    engine, subscriptions, producer, effects, log
):
    good, bad = event(), event()
    bad.data["source"] = "probation"
    contact_bad = event(CONTACT_RECORDED)
    contact_bad.data["given_name"] = "Fail"
    outcome = handle_batch(engine, subscriptions, producer, [good, bad, contact_bad])
    assert [e.id for e, _ in outcome.failures] == [bad.id, contact_bad.id]
    assert [e.id for e in outcome.handled] == [good.id]
    with engine.connect() as conn:
        assert [row.event_id for row in conn.execute(sa.select(effects.c.event_id))] == [good.id]
    assert count_rows(engine, inbox) == 1
    # The optimistic run went first, then one event at a time.
    assert log[0] == ("batch", [good.id, bad.id])


def test_an_event_already_handled_or_repeated_in_the_batch_has_no_second_effect(
    engine, subscriptions, producer, effects
):
    first = event()
    handle_batch(engine, subscriptions, producer, [first])
    again = Event(first.envelope, first.event_type, first.data)
    other = event()
    outcome = handle_batch(engine, subscriptions, producer, [again, other, other])
    assert outcome.duplicates == 2
    assert [e.id for e in outcome.handled] == [other.id]
    assert count_rows(engine, effects) == 2


def test_a_handler_that_swallows_a_database_error_cannot_lose_the_others(engine, producer, effects):
    subs = Subscriptions("swallow")

    @subs.on(CONTACT_RECORDED)
    def careless(e, tx):
        tx.connection.execute(effects.insert().values(event_id=e.id))
        if e.data["given_name"] == "Swallow":
            try:  # the mistake under test: a database error caught and ignored
                tx.connection.execute(effects.insert().values(id=1000, event_id=e.id))
                tx.connection.execute(effects.insert().values(id=1000, event_id=e.id))
            except sa.exc.IntegrityError:
                pass

    good, careless_one = event(CONTACT_RECORDED), event(CONTACT_RECORDED)
    careless_one.data["given_name"] = "Swallow"
    outcome = handle_batch(engine, subs, producer, [good, careless_one])
    if engine.dialect.name == "postgresql":
        # PostgreSQL aborted the transaction: committing it would have lost both events silently.
        assert [e.id for e in outcome.handled] == [good.id]
        assert [type(error).__name__ for _, error in outcome.failures] == ["SwallowedDatabaseError"]
        assert count_rows(engine, effects) == 1
    else:
        # SQLite undoes only the failed statement; the handler's other writes stand.
        assert [e.id for e in outcome.handled] == [good.id, careless_one.id]
        assert count_rows(engine, effects) == 3
    assert count_rows(engine, inbox) == len(outcome.handled)


def test_an_event_that_cannot_even_be_recorded_fails_alone(engine, subscriptions, producer):
    from dataclasses import replace

    good = event()
    broken = event()
    broken = Event(replace(broken.envelope, id="nul\x00inside"), broken.event_type, broken.data)
    outcome = handle_batch(engine, subscriptions, producer, [good, broken])
    if engine.dialect.name == "postgresql":
        assert [e.id for e in outcome.handled] == [good.id]
        assert [e.id for e, _ in outcome.failures] == [broken.id]
    else:
        assert len(outcome.handled) == 2
