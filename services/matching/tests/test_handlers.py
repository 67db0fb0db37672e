"""Matching follows referrals and its own mentors' events, through the real broker."""

import uuid

import pytest
import sqlalchemy as sa

from matching import store
from matching.handlers import subscriptions
from matching.store import matches, requests
from peerlink.consumer import Consumer
from peerlink.contracts import (
    EVENTS_EXCHANGE,
    PERSON_ERASED,
    REFERRAL_ACCEPTED,
    REFERRAL_CLOSED,
    REFERRAL_REQUEUED,
    REFERRAL_WITHDRAWN,
    SITE_ONLY_EXCHANGE,
)
from peerlink.envelope import parse_envelope
from peerlink.outbox import Producer
from peerlink.relay import Relay
from peerlink.tables import inbox
from peerlink.testing import (
    count_rows,
    make_envelope,
    publish_envelopes,
    running,
    sample_data,
    wait_for_consumer,
    wait_until,
)


@pytest.fixture
def consumer(engine, amqp_url):
    worker = Consumer(engine, amqp_url, subscriptions, producer=Producer("ebbw-vale", "matching"), retry_delays=(0.1,))
    with running(worker):
        wait_for_consumer(amqp_url, "matching.inbox")
        yield worker


def referral_event(event_type, referral_id, person_id, **data):
    payload = sample_data(event_type, referral_id=uuid.UUID(referral_id), person_id=uuid.UUID(person_id), **data)
    return make_envelope(event_type, payload, subject=referral_id)


def accepted(referral_id=None, person_id=None, **data):
    """An accepted referral anyone registered here could mentor, unless ``data`` says otherwise."""
    profile = {
        "priority": False,
        "preferred_language": "en",
        "preferences": {"mentor_gender": "no-preference", "welsh_speaking_mentor": False},
        **data,
    }
    return referral_event(
        REFERRAL_ACCEPTED, referral_id or str(uuid.uuid4()), person_id or str(uuid.uuid4()), **profile
    )


def request_of(engine, request_id):
    with engine.connect() as conn:
        return store.get_request(conn, uuid.UUID(str(request_id)))


def handled(engine, count):
    wait_until(lambda: count_rows(engine, inbox) >= count, what=f"{count} events handled")


def test_an_accepted_referral_becomes_one_waiting_request(engine, amqp_url, consumer, client, tokens):
    event = accepted(preferred_language="cy", preferences={"mentor_gender": "female", "welsh_speaking_mentor": True})
    publish_envelopes(amqp_url, [event, event])  # a duplicate delivery changes nothing
    handled(engine, 1)
    request = client.get(f"/requests/{event.data['referral_id']}", headers=tokens.header()).get_json()
    assert request["status"] == "waiting" and request["person_id"] == event.data["person_id"]
    assert request["support_needs"] == event.data["support_needs"]
    assert request["preferred_language"] == "cy" and request["welsh_speaking_mentor"] is True
    assert request["mentor_gender"] == "female"
    assert count_rows(engine, requests) == 1


def test_a_referral_accepted_at_another_site_is_parked_with_the_reason(engine, amqp_url, consumer):
    from peerlink.parking import list_parked
    from peerlink.topology import ConsumerQueues

    elsewhere = accepted()
    elsewhere = make_envelope(REFERRAL_ACCEPTED, REFERRAL_ACCEPTED.load(elsewhere.data), site="merthyr")
    publish_envelopes(amqp_url, [elsewhere])
    (parked,) = wait_until(lambda: list_parked(amqp_url, ConsumerQueues("matching", (0.1,))), what="parked")
    assert "accepted at merthyr" in parked.reason
    assert count_rows(engine, requests) == 0


def test_a_withdrawn_referral_ends_its_match_and_leaves_the_queue(engine, amqp_url, consumer, register, post, emitted):
    event = accepted()
    referral_id, person_id = event.data["referral_id"], event.data["person_id"]
    publish_envelopes(amqp_url, [event])
    handled(engine, 1)
    match = post("/matches", request_id=referral_id, mentor_id=register()["id"], confirm=True).get_json()
    withdrawn = referral_event(REFERRAL_WITHDRAWN, referral_id, person_id, reason="by-person", from_status="matched")
    publish_envelopes(amqp_url, [withdrawn])
    handled(engine, 2)
    assert request_of(engine, referral_id).status == "withdrawn"
    assert request_of(engine, referral_id).support_needs == ()
    (ended,) = emitted("peerlink.match.ended.v1")
    assert ended["match_id"] == match["id"] and ended["reason"] == "referral-withdrawn"


def test_a_withdrawn_waiting_request_is_removed_and_a_pending_proposal_cancelled(
    engine, amqp_url, consumer, register, post, emitted
):
    waiting_one, proposed_one = accepted(), accepted()
    publish_envelopes(amqp_url, [waiting_one, proposed_one])
    handled(engine, 2)
    match = post("/matches", request_id=proposed_one.data["referral_id"], mentor_id=register()["id"]).get_json()
    publish_envelopes(
        amqp_url,
        [
            referral_event(REFERRAL_WITHDRAWN, e.data["referral_id"], e.data["person_id"], reason="by-referrer")
            for e in (waiting_one, proposed_one)
        ],
    )
    handled(engine, 4)
    assert count_rows(engine, requests, requests.c.status == "waiting") == 0
    (cancelled,) = emitted("peerlink.match.cancelled.v1")
    assert cancelled["match_id"] == match["id"] and cancelled["reason"] == "referral-withdrawn"


def test_a_closed_referral_ends_its_match_and_a_reentry_waits_again(
    engine, amqp_url, consumer, register, post, emitted
):
    event = accepted()
    referral_id, person_id = event.data["referral_id"], event.data["person_id"]
    publish_envelopes(amqp_url, [event])
    handled(engine, 1)
    post("/matches", request_id=referral_id, mentor_id=register()["id"], confirm=True)
    publish_envelopes(amqp_url, [referral_event(REFERRAL_CLOSED, referral_id, person_id, outcome="completed")])
    handled(engine, 2)
    assert request_of(engine, referral_id).status == "closed"
    assert emitted("peerlink.match.ended.v1")[0]["reason"] == "referral-closed"
    publish_envelopes(amqp_url, [accepted(referral_id, person_id, reentry=True)])
    handled(engine, 3)
    back = request_of(engine, referral_id)
    assert back.status == "waiting" and back.reentry and back.support_needs


def test_the_person_waits_again_exactly_once_whichever_comes_first(engine, amqp_url, consumer, register, post):
    mentor = register(capacity=3)
    first, second = accepted(), accepted()
    publish_envelopes(amqp_url, [first, second])
    handled(engine, 2)
    # 1. Matching ends the match itself; referrals' requeue arrives after: nothing happens twice.
    ours = post("/matches", request_id=first.data["referral_id"], mentor_id=mentor["id"], confirm=True).get_json()
    post(f"/matches/{ours['id']}/end", reason="mentee-disengaged")
    waited_since = request_of(engine, first.data["referral_id"]).waiting_since
    requeued = referral_event(
        REFERRAL_REQUEUED,
        first.data["referral_id"],
        first.data["person_id"],
        match_id=uuid.UUID(ours["id"]),
        reason="mentee-disengaged",
    )
    # 2. Referrals requeues first (the match still confirmed here): the match ends, the person waits.
    theirs = post("/matches", request_id=second.data["referral_id"], mentor_id=mentor["id"], confirm=True).get_json()
    requeued_first = referral_event(
        REFERRAL_REQUEUED,
        second.data["referral_id"],
        second.data["person_id"],
        match_id=uuid.UUID(theirs["id"]),
        reason="other",
    )
    publish_envelopes(amqp_url, [requeued, requeued_first])
    handled(engine, 4)
    assert request_of(engine, first.data["referral_id"]).waiting_since == waited_since
    assert request_of(engine, second.data["referral_id"]).status == "waiting"
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(matches.c.status).where(matches.c.id == uuid.UUID(theirs["id"]))).scalar_one()
            == "ended"
        )
    # Proposed again, then the old match's requeue arrives late: the new proposal stands.
    again = post("/matches", request_id=second.data["referral_id"], mentor_id=register()["id"]).get_json()
    late = referral_event(
        REFERRAL_REQUEUED,
        second.data["referral_id"],
        second.data["person_id"],
        match_id=uuid.UUID(theirs["id"]),
        reason="other",
    )
    publish_envelopes(amqp_url, [late])
    handled(engine, 5)
    assert request_of(engine, second.data["referral_id"]).current_match_id == uuid.UUID(again["id"])


def test_mentoring_completed_proposes_nobody_new_until_referrals_closes_or_requeues(
    engine, amqp_url, consumer, client, tokens, register, post
):
    """Ended as completed, the request is done, not waiting: a run or a re-match would otherwise
    confirm a mentor for someone whose referral referrals keeps active for closing. What
    referrals then says about it still finds it: closed closes it; requeued (a referral never
    started) puts the person back in the queue, waiting from then."""
    mentor = register(capacity=3)
    to_close, to_requeue = accepted(), accepted()
    publish_envelopes(amqp_url, [to_close, to_requeue])
    handled(engine, 2)
    ended = {}
    for event in (to_close, to_requeue):
        referral_id = event.data["referral_id"]
        match = post("/matches", request_id=referral_id, mentor_id=mentor["id"], confirm=True).get_json()
        assert post(f"/matches/{match['id']}/end", reason="completed").status_code == 200
        ended[referral_id] = match["id"]
        request = client.get(f"/requests/{referral_id}", headers=tokens.header()).get_json()
        assert request["status"] == "completed" and request["current_match_id"] == match["id"]
        assert post("/matches", request_id=referral_id, mentor_id=register()["id"]).status_code == 409
    waiting = client.get("/requests?status=waiting", headers=tokens.header()).get_json()
    assert waiting["items"] == []
    closed_id, requeued_id = to_close.data["referral_id"], to_requeue.data["referral_id"]
    completed_at = request_of(engine, requeued_id).updated_at
    publish_envelopes(
        amqp_url,
        [
            referral_event(REFERRAL_CLOSED, closed_id, to_close.data["person_id"], outcome="completed"),
            referral_event(
                REFERRAL_REQUEUED,
                requeued_id,
                to_requeue.data["person_id"],
                match_id=uuid.UUID(ended[requeued_id]),
                reason="completed",
            ),
        ],
    )
    handled(engine, 4)
    closed = request_of(engine, closed_id)
    assert closed.status == "closed" and closed.current_match_id is None and not closed.support_needs
    back = request_of(engine, requeued_id)
    assert back.status == "waiting" and back.current_match_id is None and back.waiting_since >= completed_at


def test_an_erased_person_leaves_only_ids_and_counts(
    engine, amqp_url, consumer, client, tokens, register, post, emitted
):
    event = accepted()
    referral_id, person_id = event.data["referral_id"], event.data["person_id"]
    former_participant = register(person_id=person_id)
    mentor = register()
    publish_envelopes(amqp_url, [event])
    handled(engine, 1)
    post(f"/requests/{referral_id}/do-not-match", mentor_id=former_participant["id"], reason="shared-network")
    proposal = post("/matches", request_id=referral_id, mentor_id=mentor["id"]).get_json()
    erased = make_envelope(PERSON_ERASED, sample_data(PERSON_ERASED, person_id=uuid.UUID(person_id)), subject=person_id)
    publish_envelopes(amqp_url, [erased])
    handled(engine, 2)
    request = client.get(f"/requests/{referral_id}", headers=tokens.header()).get_json()
    assert request["status"] == "erased" and request["support_needs"] == [] and request["interests"] == []
    assert client.get(f"/requests/{referral_id}/do-not-match", headers=tokens.header()).get_json() == []
    linked = client.get(f"/mentors/{former_participant['id']}", headers=tokens.header()).get_json()
    assert linked["person_id"] is None and linked["former_participant"] is True
    (cancelled,) = emitted("peerlink.match.cancelled.v1")
    assert (cancelled["match_id"], cancelled["reason"]) == (proposal["id"], "person-erased")


def test_a_mentor_who_leaves_has_their_mentees_proposed_a_new_mentor_through_the_broker(
    engine, amqp_url, consumer, client, tokens, register, post
):
    leaving = register(capacity=2)
    staying = register(capacity=2)
    events = [accepted(), accepted()]
    publish_envelopes(amqp_url, events)
    handled(engine, 2)
    old = [
        post("/matches", request_id=e.data["referral_id"], mentor_id=leaving["id"], confirm=True).get_json()
        for e in events
    ]
    left = post(f"/mentors/{leaving['id']}/leave", reason="moved-on")
    assert left.status_code == 200
    with running(Relay(engine, amqp_url, service="matching", idle_poll=0.05)):
        wait_until(
            lambda: count_rows(engine, matches, matches.c.method == "rematch") == 2, what="two re-match proposals"
        )
    proposals = client.get("/matches?status=proposed", headers=tokens.header()).get_json()["items"]
    assert {p["mentor_id"] for p in proposals} == {staying["id"]}
    assert {p["request_id"] for p in proposals} == {e.data["referral_id"] for e in events}
    assert {p["method"] for p in proposals} == {"rematch"}
    assert {m["id"] for m in old}.isdisjoint({p["id"] for p in proposals})
    for event in events:
        request = client.get(f"/requests/{event.data['referral_id']}", headers=tokens.header()).get_json()
        assert request["status"] == "proposed" and request["urgent"] is True


def test_a_paused_mentors_mentees_are_proposed_a_free_mentor_or_wait_with_priority(
    engine, amqp_url, consumer, client, tokens, register, post
):
    """One mentee has a free mentor and is proposed them at once; the other (who needs Welsh) has
    nobody free and waits, urgent. Either way the re-match is no longer due: it was tried."""
    pausing = register(capacity=2)
    free = register(capacity=1, languages=["en"])
    has_someone = accepted()
    needs_welsh = accepted(
        preferred_language="cy", preferences={"mentor_gender": "no-preference", "welsh_speaking_mentor": True}
    )
    publish_envelopes(amqp_url, [has_someone, needs_welsh])
    handled(engine, 2)
    for event in (has_someone, needs_welsh):
        post("/matches", request_id=event.data["referral_id"], mentor_id=pausing["id"], confirm=True)
    post(f"/mentors/{pausing['id']}/pause", reason="relapse")
    with running(Relay(engine, amqp_url, service="matching", idle_poll=0.05)):
        wait_until(lambda: count_rows(engine, inbox) >= 3, what="mentor.paused handled")
    (rematch,) = client.get("/matches?status=proposed", headers=tokens.header()).get_json()["items"]
    assert (rematch["request_id"], rematch["mentor_id"]) == (has_someone.data["referral_id"], free["id"])
    assert rematch["method"] == "rematch" and rematch["proposed_by"] == "matching"
    assert rematch["breakdown"]["priority"]["value"] == 1.0  # scored as urgent: back in the queue
    proposed = client.get(f"/requests/{has_someone.data['referral_id']}", headers=tokens.header()).get_json()
    assert proposed["status"] == "proposed" and proposed["urgent"] is True
    assert proposed["current_match_id"] == rematch["id"]
    waits = client.get(f"/requests/{needs_welsh.data['referral_id']}", headers=tokens.header()).get_json()
    assert waits["status"] == "waiting" and waits["urgent"] is True and waits["requeued_from_mentor"] == pausing["id"]
    assert not request_of(engine, has_someone.data["referral_id"]).rematch_due
    assert not request_of(engine, needs_welsh.data["referral_id"]).rematch_due
    suggestions = client.get(f"/requests/{needs_welsh.data['referral_id']}/suggestions", headers=tokens.header())
    reasons = {e["mentor_id"]: [r["reason"] for r in e["reasons"]] for e in suggestions.get_json()["excluded"]}
    assert reasons[pausing["id"]] == ["Is paused."]
    assert "Does not speak Welsh, which the person needs." in reasons[free["id"]]


def test_someone_not_counted_centrally_is_matched_and_re_matched_at_the_site_only(
    engine, amqp_url, consumer, client, tokens, register, post, spy
):
    """The consent on ``referral.accepted`` is kept with the request: hers arrives on
    peerlink.site-only (as referrals sends it), and one from a referrals too old to say is taken
    as counted. Then, through the relay and the broker, every match event about her reaches
    peerlink.site-only and none peerlink.events, and the counted person's the other way round;
    her re-match, proposed by matching's own consumer on its mentor.paused (on peerlink.events:
    mentors are staff), stays at the site too."""
    central, at_site = spy(EVENTS_EXCHANGE, "*.match.*"), spy(SITE_ONLY_EXCHANGE, "*.match.*")
    kept, counted = accepted(counted_in_figures=False), accepted(counted_in_figures=True)
    unsaid = {k: v for k, v in REFERRAL_ACCEPTED.load(accepted().data).items() if k != "counted_in_figures"}
    older = make_envelope(REFERRAL_ACCEPTED, unsaid, subject=str(unsaid["referral_id"]))
    publish_envelopes(amqp_url, [kept], exchange=SITE_ONLY_EXCHANGE)
    publish_envelopes(amqp_url, [counted, older])
    handled(engine, 3)
    assert request_of(engine, kept.data["referral_id"]).counted_in_figures is False
    assert request_of(engine, counted.data["referral_id"]).counted_in_figures is True
    assert request_of(engine, older.data["referral_id"]).counted_in_figures is True

    pausing = register(capacity=2)
    register(capacity=2)  # free for both re-matches
    for event in (kept, counted):
        post("/matches", request_id=event.data["referral_id"], mentor_id=pausing["id"], confirm=True)
    post(f"/mentors/{pausing['id']}/pause", reason="health")
    with running(Relay(engine, amqp_url, service="matching", idle_poll=0.05)):
        wait_until(lambda: count_rows(engine, matches, matches.c.method == "rematch") == 2, what="two re-matches")
        # Each: proposed and confirmed by hand, ended by the pause, proposed again by the worker.
        kept_messages, central_messages = at_site.wait_for(4), central.wait_for(4)

    def about(messages):
        return sorted((parse_envelope(m.body).data["person_id"], m.delivery_info["routing_key"]) for m in messages)

    verbs = sorted(["proposed", "confirmed", "ended", "proposed"])
    assert about(kept_messages) == sorted((kept.data["person_id"], f"ebbw-vale.match.{v}") for v in verbs)
    assert about(central_messages) == sorted((counted.data["person_id"], f"ebbw-vale.match.{v}") for v in verbs)
    rematch = client.get(f"/requests/{kept.data['referral_id']}", headers=tokens.header()).get_json()
    assert rematch["status"] == "proposed" and rematch["urgent"] is True


def test_the_worker_process_turns_an_accepted_referral_into_a_request(tmp_path, amqp_url, processes):
    """``peerlink-matching work`` as it runs on a site: its own process, migrated database, real broker."""
    from matching.app import DEFINITION
    from peerlink.db import create_engine

    url = f"sqlite:///{tmp_path / 'matching.db'}"
    DEFINITION.migrations.upgrade(url)
    env = {"PEERLINK_SITE": "ebbw-vale", "PEERLINK_DATABASE_URL": url, "PEERLINK_AMQP_URL": amqp_url}
    worker = processes("peerlink-matching", "work", env=env)
    wait_for_consumer(amqp_url, "matching.inbox", timeout=30)
    event = accepted()
    publish_envelopes(amqp_url, [event])
    engine = create_engine(url)
    try:
        wait_until(lambda: request_of(engine, event.data["referral_id"]), timeout=15, what="the request stored")
    finally:
        engine.dispose()
    worker.assert_alive()
