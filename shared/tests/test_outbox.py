import json

import pytest
import sqlalchemy as sa

from peerlink import context
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED, ContractViolation
from peerlink.envelope import parse_envelope
from peerlink.outbox import UnitOfWork
from peerlink.tables import outbox
from peerlink.testing import count_rows, sample_data


def referral_received(**overrides):
    return sample_data(REFERRAL_RECEIVED, **overrides)


def test_an_event_in_a_rolled_back_transaction_never_exists(engine, producer):
    with UnitOfWork(engine, producer) as uow:
        uow.emit(REFERRAL_RECEIVED, subject="r-1", data=referral_received())
        # no commit: leaving the block rolls back
    with pytest.raises(RuntimeError), UnitOfWork(engine, producer) as uow:
        uow.emit(REFERRAL_RECEIVED, subject="r-2", data=referral_received())
        raise RuntimeError("the state change failed")
    assert count_rows(engine, outbox) == 0


def test_a_committed_event_is_a_complete_cloudevent_row(engine, producer):
    data = referral_received()
    with context.correlated("corr-42"), UnitOfWork(engine, producer) as uow:
        emitted = uow.emit(REFERRAL_RECEIVED, subject=str(data["referral_id"]), data=data)
        uow.commit()
    with engine.connect() as conn:
        row = conn.execute(sa.select(outbox)).one()
    assert row.exchange == "peerlink.events"
    assert row.routing_key == "ebbw-vale.referral.received"
    assert row.published_at is None
    envelope = parse_envelope(row.body)
    assert envelope == emitted
    assert envelope.source == "/sites/ebbw-vale/referrals"
    assert envelope.correlationid == "corr-42"
    assert json.loads(row.body)["data"]["referral_id"] == str(data["referral_id"])


def test_sequences_increase_per_aggregate(engine, producer):
    with UnitOfWork(engine, producer) as uow:
        first = [uow.emit(REFERRAL_RECEIVED, subject="r-1", data=referral_received()) for _ in range(3)]
        other = uow.emit(REFERRAL_RECEIVED, subject="r-2", data=referral_received())
        contact = uow.emit(CONTACT_RECORDED, subject="r-1", data=CONTACT_RECORDED.load(CONTACT_RECORDED.example))
        uow.commit()
    with UnitOfWork(engine, producer) as uow:
        later = uow.emit(REFERRAL_RECEIVED, subject="r-1", data=referral_received())
        uow.commit()
    assert [e.sequence for e in first] == [1, 2, 3]
    assert other.sequence == 1
    assert contact.sequence == 1  # another aggregate type, same id
    assert later.sequence == 4


def test_an_off_contract_event_fails_the_whole_unit_of_work(engine, producer):
    with pytest.raises(ContractViolation), UnitOfWork(engine, producer) as uow:
        uow.emit(REFERRAL_RECEIVED, subject="r-1", data=referral_received())
        uow.emit(REFERRAL_RECEIVED, subject="r-1", data=referral_received(email="x@example.org"))
        uow.commit()
    assert count_rows(engine, outbox) == 0
