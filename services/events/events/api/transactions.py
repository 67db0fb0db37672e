"""Running a use case in one unit of work from a request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from peerlink.outbox import UnitOfWork
from peerlink.web import service

T = TypeVar("T")


def in_transaction(use_case: Callable[[UnitOfWork], T]) -> T:
    """Run ``use_case`` and commit. A unique key that a concurrent twin of this request won
    (the same Idempotency-Key, the same guest's email) makes it run once more: it then sees
    what the twin committed and answers as the twin did."""
    try:
        return _once(use_case)
    except sa.exc.IntegrityError:
        return _once(use_case)


def _once(use_case: Callable[[UnitOfWork], T]) -> T:
    with service().unit_of_work() as uow:
        result = use_case(uow)
        uow.commit()
    return result
