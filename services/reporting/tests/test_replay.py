"""``peerlink-reporting replay`` while the worker consumes: nothing counted twice, nothing lost."""

import threading

import sqlalchemy as sa

from peerlink.contracts import CATALOGUE
from peerlink.inbox import handle_batch
from peerlink.outbox import Producer
from peerlink.subscriptions import Event
from peerlink.testing import postgresql_only, wait_until
from reporting import store
from reporting.handlers import subscriptions
from reporting.replay import replay


def consume(engine: sa.Engine, envelopes: list) -> None:
    """A batch as the worker's consumer handles it: inbox, handler and commit, in one transaction."""
    events = [Event(e, CATALOGUE[e.type], CATALOGUE[e.type].load(e.data)) for e in envelopes]
    outcome = handle_batch(engine, subscriptions, Producer("central", "reporting"), events)
    assert not outcome.failures, outcome.failures


def counters(engine: sa.Engine) -> list[tuple]:
    referrals = store.model("referrals")
    with engine.connect() as conn:
        query = sa.select(referrals.c.referral_id, referrals.c.reentries, referrals.c.matches, referrals.c.requeues)
        return sorted(tuple(row) for row in conn.execute(query))


def held_back_by(engine: sa.Engine, pid: int) -> int:
    """How many transactions wait for one of ``pid``'s locks."""
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE CAST(:pid AS integer) = ANY(pg_blocking_pids(pid))"
        return int(conn.execute(sa.text(query), {"pid": pid}).scalar_one())


# SQLite has one writer at a time: a replay's write transaction holds the worker back by itself.
@postgresql_only
def test_a_batch_consumed_during_a_replay_counts_once(engine, eventful_story, monkeypatch):
    story = eventful_story("merthyr", busy=False)
    envelopes = story.envelopes
    # A referral the read models have never seen, matched twice and requeued once between: new
    # rows with counters, which nothing the replay holds would hold back without its lock.
    requeue = next(e for e in envelopes if e.type == "peerlink.referral.requeued.v1")
    during = [e for e in envelopes if e.subject == requeue.subject]
    consume(engine, [e for e in envelopes if e not in during])

    # The replay stops between emptying the read models and reading the log, for as long as
    # this test says: the moment a batch committed by the worker would be projected twice.
    emptied, go_on = threading.Event(), threading.Event()
    clear = store.clear_read_models
    replayer: list[int] = []

    def clear_then_wait(conn: sa.Connection) -> None:
        clear(conn)
        replayer.append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        emptied.set()
        assert go_on.wait(30), "the test never let the replay go on"

    monkeypatch.setattr(store, "clear_read_models", clear_then_wait)
    replaying = threading.Thread(target=replay, args=(engine,))
    replaying.start()
    assert emptied.wait(30)
    consumed = threading.Event()
    consuming = threading.Thread(target=lambda: (consume(engine, during), consumed.set()))
    consuming.start()
    try:
        wait_until(lambda: consumed.is_set() or held_back_by(engine, replayer[0]), what="the batch to commit or wait")
        assert not consumed.is_set(), "the worker logged and projected a batch in the middle of a replay"
    finally:
        go_on.set()
        replaying.join(30)
        consuming.join(30)
    assert consumed.is_set()

    monkeypatch.setattr(store, "clear_read_models", clear)
    after_both = counters(engine)
    referral = next(row for row in after_both if str(row[0]) == requeue.subject)
    assert referral[1:] == (0, 2, 1)  # no re-entry, matched twice, requeued once
    replay(engine)  # alone: the truth
    assert counters(engine) == after_both
