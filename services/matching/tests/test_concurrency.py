"""Two coordinators at once never fill a mentor past their places (mentors over capacity are a known
failure of matching tools)."""

import threading
import uuid
from datetime import UTC, datetime

from matching import commands
from matching.store import matches
from peerlink.outbox import Producer, UnitOfWork
from peerlink.testing import count_rows


def test_racing_proposals_for_a_mentors_last_place_give_it_to_one(engine, register, waiting):
    mentor = uuid.UUID(register(capacity=1)["id"])
    requests = [uuid.UUID(waiting()) for _ in range(4)]
    start = threading.Barrier(len(requests))
    outcomes: list[str] = []

    def propose(request_id: uuid.UUID) -> None:
        start.wait()
        try:
            with UnitOfWork(engine, Producer("ebbw-vale", "matching")) as uow:
                commands.propose_match(
                    uow, request_id=request_id, mentor_id=mentor, site="ebbw-vale", at=datetime.now(UTC), actor="test"
                )
                uow.commit()
            outcomes.append("proposed")
        except commands.NotEligible as refused:
            outcomes.append(refused.exclusions[0].code)

    threads = [threading.Thread(target=propose, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["no-place", "no-place", "no-place", "proposed"]
    assert count_rows(engine, matches) == 1
