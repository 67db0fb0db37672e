"""Poison messages of every kind, published straight onto a site's exchanges with pika, each with a
valid event behind it, to notifications' real ``work`` process: each is parked with a reason that
says what is wrong, the consumer goes on and handles every valid event, ``peerlink-notifications
parked list`` shows them, and ``parked replay`` after the fault is fixed delivers the one that can
be delivered while the rest go back to the parking queue with their reasons (nothing lost).

The fixable one is an operator's fault, as it happens: notifications runs under its own
least-privileged database role, and a grant was lost (say, in a restore), so writing a
recipient's contact details fails with "permission denied". The consumer retries it (it might
be passing) and parks it; the operator restores the grant and replays. The others cannot be
fixed by replaying: a body that is not a Peerlink CloudEvent, a type or version this release
does not know (a newer release would), data its schema refuses, a body over the size limit."""

import json
import subprocess
import time
import uuid

import pika
import pytest
import sqlalchemy as sa

from notifications.app import DEFINITION as NOTIFICATIONS
from notifications.store import deliveries, recipients
from peerlink import parking
from peerlink.consumer import MAX_BODY_BYTES
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.db import create_engine, normalize_url
from peerlink.tables import inbox
from peerlink.testing import make_envelope, sample_data, wait_for_consumer, wait_until
from peerlink.topology import ConsumerQueues

from ._sites import service_env

SITE = "ebbw-vale"
TEN_MB = 10 * 1024 * 1024
QUEUES = ConsumerQueues("notifications", (0.1, 0.2))


@pytest.fixture
def service_role(postgres_url):
    """A login role of notifications' own, with the rights it needs on its schema and no more;
    yields (database URL as that role, a function that runs SQL as the schema's owner)."""
    role = f"peerlink_faults_{uuid.uuid4().hex[:10]}"
    owner = create_engine(postgres_url, poolclass=sa.pool.NullPool)

    def as_owner(*statements: str) -> None:
        with owner.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))

    NOTIFICATIONS.migrations.upgrade(postgres_url)
    schema = normalize_url(postgres_url).query["options"].split("=", 1)[1]
    as_owner(
        f'CREATE ROLE "{role}" LOGIN',
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
    )
    url = normalize_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    try:
        yield url, role, as_owner
    finally:
        as_owner(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
            f'DROP OWNED BY "{role}"',
            f'DROP ROLE "{role}"',
        )
        owner.dispose()


def envelope_dict(event_type, **data):
    return make_envelope(event_type, sample_data(event_type, **data), site=SITE).to_dict()


def the_poisons(fixable_contact: dict) -> list[tuple[str, str, str, bytes, str | None]]:
    """(what, exchange, routing key, body, AMQP message id) of each poison message."""
    received_key = REFERRAL_RECEIVED.routing_key(SITE)
    events, private = REFERRAL_RECEIVED.exchange, CONTACT_RECORDED.exchange
    unknown = {**envelope_dict(REFERRAL_RECEIVED), "type": "peerlink.referral.teleported.v1"}
    newer = {**envelope_dict(REFERRAL_RECEIVED), "type": "peerlink.referral.received.v2"}
    old_spec = {**envelope_dict(REFERRAL_RECEIVED), "specversion": "0.3"}
    invalid = envelope_dict(REFERRAL_RECEIVED)
    invalid["data"] = {**invalid["data"], "person_id": "not-a-uuid", "source": "carrier-pigeon"}
    huge = envelope_dict(REFERRAL_RECEIVED)
    huge["data"]["padding"] = "x" * TEN_MB  # valid JSON, a valid event but for its size
    no_id = envelope_dict(REFERRAL_RECEIVED)
    del no_id["id"]
    body = lambda envelope: json.dumps(envelope).encode()  # noqa: E731
    return [
        ("not JSON", events, received_key, b"\x00\x9f<xml>not json</xml>", str(uuid.uuid4())),
        ("unknown type", events, received_key, body(unknown), unknown["id"]),
        ("schema-invalid", events, received_key, body(invalid), invalid["id"]),
        ("newer event version", events, received_key, body(newer), newer["id"]),
        ("wrong CloudEvents version", events, received_key, body(old_spec), old_spec["id"]),
        ("10 MB body", events, received_key, body(huge), huge["id"]),
        ("missing id", events, received_key, body(no_id), None),
        ("grant lost", private, CONTACT_RECORDED.routing_key(SITE), body(fixable_contact), fixable_contact["id"]),
    ]


REASONS = {
    "not JSON": "body is not JSON in UTF-8",
    "unknown type": "notifications has no handler for peerlink.referral.teleported.v1 (not in the event catalogue)",
    "schema-invalid": "data does not match peerlink.referral.received.v1",
    "newer event version": "no handler for peerlink.referral.received.v2 (not in the event catalogue)",
    "wrong CloudEvents version": "specversion: Must be equal to 1.0.",
    "10 MB body": f"over the {MAX_BODY_BYTES}-byte limit",
    "missing id": "id: Missing data for required field.",
    "grant lost": "gave up after 3 attempts; last error ProgrammingError",
}


def publish_with_pika(amqp_url: str, messages: list[tuple[str, bytes, str | None]]) -> None:
    """As a misbehaving producer would: persistent, confirmed, whatever the body."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # basic_publish raises if the broker does not take one
        for exchange, routing_key, body, message_id in messages:
            properties = pika.BasicProperties(
                content_type="application/cloudevents+json", delivery_mode=2, message_id=message_id
            )
            channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
    finally:
        connection.close()


def parked_list_command(env: dict[str, str]) -> list[dict]:
    done = subprocess.run(
        ["peerlink-notifications", "parked", "list"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def replay_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["peerlink-notifications", "parked", "replay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stderr.strip()


def test_poison_of_every_kind_is_parked_with_its_reason_and_replay_after_a_fix_delivers_what_can_be(
    service_role, amqp_url, tokens, smtp_server, processes
):
    import os
    import sys

    url, role, as_owner = service_role
    env = service_env(
        SITE, url, amqp_url, tokens, PEERLINK_SMTP_URL=smtp_server.url, PEERLINK_RETRY_DELAYS="100ms,200ms"
    )
    command_env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"], **env}
    worker = processes("peerlink-notifications", "work", env=env)
    wait_for_consumer(amqp_url, QUEUES.inbox, timeout=60)
    engine = create_engine(url, poolclass=sa.pool.NullPool)
    started = time.monotonic()

    # The grant is lost: notifications may no longer write contact details.
    as_owner(f'REVOKE INSERT, UPDATE ON recipients FROM "{role}"')
    fixable = envelope_dict(CONTACT_RECORDED, channels=["email"], email="rhian@example.org")
    poisons = the_poisons(fixable)
    valid = [envelope_dict(REFERRAL_RECEIVED) for _ in poisons]
    outgoing = []
    for (_, exchange, routing_key, body, message_id), good in zip(poisons, valid, strict=True):
        outgoing.append((exchange, routing_key, body, message_id))
        outgoing.append(
            (REFERRAL_RECEIVED.exchange, REFERRAL_RECEIVED.routing_key(SITE), json.dumps(good).encode(), good["id"])
        )
    publish_with_pika(amqp_url, outgoing)  # confirmed: the broker took all, the 10 MB body included

    valid_ids = {good["id"] for good in valid}

    def handled() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(sa.select(inbox.c.event_id).where(inbox.c.consumer == "notifications")).scalars())

    wait_until(lambda: valid_ids <= handled(), timeout=30, what="every valid event handled")
    wait_until(
        lambda: len(parking.list_parked(amqp_url, QUEUES)) == len(poisons), timeout=30, what="every poison parked"
    )
    worker.assert_alive()

    listed = parked_list_command(command_env)
    by_id = {entry["message_id"]: entry for entry in listed}
    assert len(listed) == len(poisons), listed
    for what, _, _, body, message_id in poisons:
        entry = by_id[message_id or ""]
        assert REASONS[what] in entry["reason"], (what, entry["reason"])
        assert entry["size"] == len(body), what  # parked whole: the 10 MB body too, not cut or dropped
    assert "permission denied for table recipients" in by_id[fixable["id"]]["reason"]
    assert by_id[fixable["id"]]["attempts"] == 3
    assert handled() == valid_ids  # the poisons had no effect: nothing of them in the inbox
    with engine.connect() as conn:
        owed_for = set(conn.execute(sa.select(deliveries.c.event_id).distinct()).scalars())
        assert conn.execute(sa.select(sa.func.count()).select_from(recipients)).scalar_one() == 0
    assert owed_for == valid_ids  # each valid referral owes its acknowledgement; no poison owes anything

    # The operator restores the grant and replays everything parked.
    as_owner(f'GRANT INSERT, UPDATE ON recipients TO "{role}"')
    said = replay_command(command_env, "--all")
    assert said == f"{len(poisons)} replayed"
    wait_until(lambda: fixable["id"] in handled(), timeout=30, what="the replayed contact details handled")
    wait_until(
        lambda: len(parking.list_parked(amqp_url, QUEUES)) == len(poisons) - 1,
        timeout=30,
        what="the unfixable ones parked again",
    )
    after = {entry["message_id"]: entry for entry in parked_list_command(command_env)}
    assert set(after) == set(by_id) - {fixable["id"]}
    for what, _, _, body, message_id in poisons[:-1]:
        assert REASONS[what] in after[message_id or ""]["reason"], what
        assert after[message_id or ""]["size"] == len(body)
    with engine.connect() as conn:
        (recipient,) = conn.execute(sa.select(recipients)).all()
    assert (recipient.recipient_id, recipient.email) == (fixable["data"]["person_id"], "rhian@example.org")
    assert handled() == valid_ids | {fixable["id"]}
    worker.assert_alive()
    engine.dispose()
    print(
        f"poison: {len(poisons)} kinds ({', '.join(what for what, *_ in poisons)}) each before a valid event, "
        f"{len(valid_ids)}/{len(valid_ids)} valid handled, {len(listed)} parked with reasons "
        f"(10 MB body confirmed by the broker and parked whole, {TEN_MB} bytes; broker limit not reached), "
        f"replay after the fix: 1 delivered, {len(after)} parked again with their reasons, 0 lost; "
        f"{time.monotonic() - started:.1f}s"
    )
