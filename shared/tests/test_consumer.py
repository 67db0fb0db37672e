import itertools
import json
import time
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from peerlink.consumer import Consumer
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.parking import list_parked, replay_parked
from peerlink.subscriptions import PermanentFailure, Subscriptions
from peerlink.tables import inbox
from peerlink.testing import (
    count_rows,
    make_envelope,
    publish_envelopes,
    publish_raw,
    running,
    wait_for_consumer,
    wait_until,
)
from peerlink.topology import ATTEMPT, PARKED_REASON, ConsumerQueues

DELAYS = (0.2, 0.4)


class Recorder:
    """Handlers that write an effect row, and can be told to fail."""

    def __init__(self, effects):
        self.effects = effects
        self.calls: list[tuple[str, float]] = []
        self.failures: dict[str, int] = {}  # event id -> how many more times to fail
        self.fail_always: set[str] = set()
        self.permanent: set[str] = set()
        self.subscriptions = Subscriptions("testsvc")
        self.subscriptions.on(REFERRAL_RECEIVED)(self.handle)

    def handle(self, event, tx):
        self.calls.append((event.id, time.monotonic()))
        tx.connection.execute(self.effects.insert().values(event_id=event.id, note=event.data["source"]))
        if event.id in self.permanent:
            raise PermanentFailure("this referral can never be handled")
        if event.id in self.fail_always:
            raise RuntimeError(f"handler broke on {event.id}")
        if self.failures.get(event.id, 0) > 0:
            self.failures[event.id] -= 1
            raise RuntimeError("a passing problem")


@pytest.fixture
def recorder(effects):
    return Recorder(effects)


def consumer(engine, amqp_url, recorder, producer, **kwargs):
    return Consumer(engine, amqp_url, recorder.subscriptions, producer=producer, retry_delays=DELAYS, **kwargs)


def queues():
    return ConsumerQueues("testsvc", DELAYS)


def effects_for(engine, effects, event_id=None):
    where = [effects.c.event_id == event_id] if event_id else []
    return count_rows(engine, effects, *where)


def started(engine, amqp_url, recorder, producer, **kwargs):
    """Start a consumer and return once its queues exist (so nothing published is unroutable)."""
    running_consumer = running(consumer(engine, amqp_url, recorder, producer, **kwargs))
    handle = running_consumer.__enter__()
    wait_for_consumer(amqp_url, queues().inbox)
    return running_consumer, handle


def test_each_event_has_one_effect_however_often_it_is_delivered(engine, amqp_url, recorder, producer, effects):
    ctx, _ = started(engine, amqp_url, recorder, producer)
    try:
        events = [make_envelope(REFERRAL_RECEIVED) for _ in range(5)]
        # Twice within one batch ...
        publish_envelopes(amqp_url, events + events[:2])
        for event in events:
            wait_until(lambda e=event: effects_for(engine, effects, e.id) == 1, what="each event handled")
        # ... and again long after they were handled and acked, as a relay that crashed would.
        follower = make_envelope(REFERRAL_RECEIVED)
        publish_envelopes(amqp_url, [*events, follower])
        wait_until(lambda: effects_for(engine, effects, follower.id) == 1, what="the last event handled")
    finally:
        ctx.__exit__(None, None, None)
    for event in events:
        assert effects_for(engine, effects, event.id) == 1
    assert count_rows(engine, inbox) == 6  # five events and the follower


def test_a_failing_handler_is_retried_with_growing_delays_then_parked_and_the_rest_flows(
    sqlite_engine, amqp_url, recorder, producer, effects
):
    engine = sqlite_engine
    ctx, _ = started(engine, amqp_url, recorder, producer)
    try:
        doomed = make_envelope(REFERRAL_RECEIVED)
        recorder.fail_always.add(doomed.id)
        behind = [make_envelope(REFERRAL_RECEIVED) for _ in range(3)]
        publish_envelopes(amqp_url, [doomed, *behind])
        for event in behind:
            wait_until(lambda e=event: effects_for(engine, effects, e.id) == 1, what="events behind the failure")
        parked = wait_until(lambda: list_parked(amqp_url, queues()), timeout=15, what="the failure parked")
    finally:
        ctx.__exit__(None, None, None)
    calls = [t for event_id, t in recorder.calls if event_id == doomed.id]
    # A failing batch runs twice in one attempt (optimistic, then isolated): group by attempt.
    attempts = [t for i, t in enumerate(calls) if i == 0 or t - calls[i - 1] > 0.1]
    assert len(attempts) == 1 + len(DELAYS)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= DELAYS[0] and gaps[1] >= DELAYS[1]  # growing delays, not a hot loop
    (message,) = parked
    assert message.message_id == doomed.id
    assert message.attempts == 3
    assert "handler broke on" in message.reason and "gave up after 3 attempts" in message.reason
    assert effects_for(engine, effects, doomed.id) == 0  # every attempt's writes were rolled back


def test_a_handler_that_recovers_has_exactly_one_effect(engine, amqp_url, recorder, producer, effects):
    ctx, _ = started(engine, amqp_url, recorder, producer)
    try:
        flaky = make_envelope(REFERRAL_RECEIVED)
        recorder.failures[flaky.id] = 2
        publish_envelopes(amqp_url, [flaky])
        wait_until(lambda: effects_for(engine, effects, flaky.id) == 1, timeout=15, what="the flaky event handled")
    finally:
        ctx.__exit__(None, None, None)
    assert list_parked(amqp_url, queues()) == []


@pytest.mark.parametrize(
    ("body", "type_", "reason"),
    [
        (b"this is not json", "", "body is not JSON"),
        (json.dumps({"hello": "world"}).encode(), "", "not a CloudEvents 1.0 envelope"),
        (None, "peerlink.referral.teleported.v1", "has no handler for peerlink.referral.teleported.v1"),
        (None, "peerlink.referral.received.v9", "has no handler for peerlink.referral.received.v9"),
        (None, "schema", "data does not match peerlink.referral.received.v1"),
        (None, "no-id", "id: Missing data"),
        (None, "nul-id", "id: String does not match"),
        (b"x" * (1024 * 1024 + 1), "", "over the"),
    ],
)
def test_what_can_never_be_handled_is_parked_at_once_and_the_consumer_goes_on(
    sqlite_engine, amqp_url, recorder, producer, effects, body, type_, reason
):
    engine = sqlite_engine
    if body is None:
        raw = json.loads(make_envelope(REFERRAL_RECEIVED).to_json())
        if type_ == "schema":
            raw["data"]["support_needs"] = ["gardening"]
        elif type_ == "no-id":
            del raw["id"]
        elif type_ == "nul-id":
            raw["id"] = "a\u0000b"
        else:
            raw["type"] = type_
        body = json.dumps(raw).encode()
    ctx, _ = started(engine, amqp_url, recorder, producer)
    try:
        calls_before = len(recorder.calls)
        publish_raw(amqp_url, "peerlink.events", "ebbw-vale.referral.received", [body])
        good = make_envelope(REFERRAL_RECEIVED)
        publish_envelopes(amqp_url, [good])
        wait_until(lambda: effects_for(engine, effects, good.id) == 1, what="the good message behind")
        (parked,) = wait_until(lambda: list_parked(amqp_url, queues()), what="the bad message parked")
    finally:
        ctx.__exit__(None, None, None)
    assert reason in parked.reason
    assert parked.attempts == 0
    assert len(recorder.calls) == calls_before + 1  # only the good one reached a handler


def test_one_failure_in_a_batch_rolls_back_only_its_own_writes(sqlite_engine, amqp_url, recorder, producer, effects):
    engine = sqlite_engine
    events = [make_envelope(REFERRAL_RECEIVED) for _ in range(20)]
    recorder.permanent.add(events[7].id)
    publish_envelopes(amqp_url, [])  # declare exchanges
    # Queue everything before the consumer starts, so it arrives as one batch.
    c = consumer(engine, amqp_url, recorder, producer)
    from peerlink.amqp import connect

    conn = connect(amqp_url)
    c.queues.declare(conn.channel(), recorder.subscriptions.bindings)
    conn.release()
    publish_envelopes(amqp_url, events)
    with running(c):
        wait_until(lambda: effects_for(engine, effects) == 19, what="19 effects")
        (parked,) = wait_until(lambda: list_parked(amqp_url, queues()), what="the permanent failure parked")
    assert effects_for(engine, effects, events[7].id) == 0
    assert "can never be handled" in parked.reason
    assert parked.attempts == 1


def test_parked_messages_can_be_listed_and_replayed_after_a_fix(sqlite_engine, amqp_url, recorder, producer, effects):
    engine = sqlite_engine
    ctx, _ = started(engine, amqp_url, recorder, producer)
    try:
        broken = [make_envelope(REFERRAL_RECEIVED) for _ in range(3)]
        recorder.permanent.update(e.id for e in broken)
        publish_envelopes(amqp_url, broken)
        wait_until(lambda: len(list_parked(amqp_url, queues())) == 3, what="three parked")
        # Listing leaves them where they are.
        assert len(list_parked(amqp_url, queues())) == 3
        recorder.permanent.clear()  # the fix is deployed
        replayed = replay_parked(amqp_url, queues(), message_ids={broken[0].id})
        assert [p.message_id for p in replayed] == [broken[0].id]
        wait_until(lambda: effects_for(engine, effects, broken[0].id) == 1, what="the replayed one handled")
        assert len(list_parked(amqp_url, queues())) == 2
        replay_parked(amqp_url, queues())
        for event in broken:
            wait_until(lambda e=event: effects_for(engine, effects, e.id) == 1, what="every replayed one handled")
    finally:
        ctx.__exit__(None, None, None)
    assert list_parked(amqp_url, queues()) == []


def test_events_emitted_by_a_handler_carry_the_cause_and_the_correlation(sqlite_engine, amqp_url, producer, effects):
    from peerlink.envelope import parse_envelope
    from peerlink.tables import outbox
    from peerlink.testing import sample_data

    subscriptions = Subscriptions("chain")

    @subscriptions.on(REFERRAL_RECEIVED)
    def on_received(event, tx):
        tx.emit(CONTACT_RECORDED, subject="p-1", data=sample_data(CONTACT_RECORDED))

    cause = make_envelope(REFERRAL_RECEIVED)
    with running(Consumer(sqlite_engine, amqp_url, subscriptions, producer=producer, retry_delays=DELAYS)):
        wait_for_consumer(amqp_url, "chain.inbox")
        publish_envelopes(amqp_url, [cause])
        wait_until(lambda: count_rows(sqlite_engine, outbox) == 1, what="the handler's event in the outbox")
    with sqlite_engine.connect() as conn:
        emitted = parse_envelope(conn.execute(sa.select(outbox.c.body)).scalar_one())
    assert emitted.causationid == cause.id
    assert emitted.correlationid == cause.correlationid


def test_retry_and_parking_headers_name_the_attempt(sqlite_engine, amqp_url, recorder, producer):
    ctx, _ = started(sqlite_engine, amqp_url, recorder, producer)
    try:
        doomed = make_envelope(REFERRAL_RECEIVED)
        recorder.permanent.add(doomed.id)
        publish_envelopes(amqp_url, [doomed])
        wait_until(lambda: list_parked(amqp_url, queues()), what="parked")
    finally:
        ctx.__exit__(None, None, None)
    from peerlink.amqp import connect

    conn = connect(amqp_url)
    channel = conn.channel()
    message = channel.basic_get(queues().parked, no_ack=False)
    headers = message.properties["application_headers"]
    assert headers[ATTEMPT] == 1
    assert "can never be handled" in headers[PARKED_REASON]
    assert headers["x-peerlink-routing-key"] == "ebbw-vale.referral.received"
    conn.release()


def test_queues_an_earlier_version_made_are_kept_and_still_retry_and_park(
    sqlite_engine, amqp_url, recorder, producer, effects
):
    """Queues made before each consumer had its own exchange dead-letter through the default
    exchange, and the broker refuses to redeclare a queue with other arguments: the consumer
    keeps them as they are, a failure still goes round a retry queue back into the inbox, and
    what can never be handled is still parked."""
    from peerlink.amqp import connect
    from peerlink.broker_admin import ManagementApi, vhost_of

    connection = connect(amqp_url)
    channel = connection.channel()
    earlier = queues().arguments(dead_letter_exchange="")
    for queue, arguments in earlier.items():
        channel.queue_declare(queue, durable=True, auto_delete=False, arguments=arguments)
    connection.release()
    ctx, _ = started(sqlite_engine, amqp_url, recorder, producer)
    try:
        flaky, doomed = make_envelope(REFERRAL_RECEIVED), make_envelope(REFERRAL_RECEIVED)
        recorder.failures[flaky.id] = 1
        recorder.permanent.add(doomed.id)
        publish_envelopes(amqp_url, [flaky, doomed])
        wait_until(lambda: effects_for(sqlite_engine, effects, flaky.id) == 1, what="the flaky one, retried")
        (parked,) = wait_until(lambda: list_parked(amqp_url, queues()), timeout=15, what="the doomed one parked")
    finally:
        ctx.__exit__(None, None, None)
    assert parked.message_id == doomed.id
    with ManagementApi.for_amqp_url(amqp_url).client() as client:
        for queue, arguments in earlier.items():
            found = client.get(f"/api/queues/{quote(vhost_of(amqp_url), safe='')}/{queue}").json()["arguments"]
            assert found == arguments, queue
