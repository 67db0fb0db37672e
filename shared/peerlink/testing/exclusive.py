"""Tests that stop a server take it from every other test session on the machine first.

Every test holds a shared lock on one file for as long as it runs; a test marked
``restarts_broker`` or ``restarts_database`` holds it exclusively, so that a broker or database
restart never lands in the middle of another session's test (several developers, or CI and a
developer, share this machine's servers). In a single session the lock costs one ``flock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

RESTARTING_MARKERS = ("restarts_broker", "restarts_database")


def _lock_path() -> Path:
    default = Path(tempfile.gettempdir()) / "peerlink-test-servers.lock"
    return Path(os.environ.get("PEERLINK_TEST_SERVERS_LOCK", default))


def _take(handle: IO[str], mode: int, deadline: float | None, wanted: str) -> None:
    if deadline is None:
        fcntl.flock(handle, mode)
        return
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{handle.name} could not be taken {wanted} in time: another process holds it "
                    "(its inode in /proc/locks says which)"
                ) from None
            time.sleep(0.5)


@contextlib.contextmanager
def servers_held(*, exclusive: bool = False, timeout: float | None = None) -> Iterator[None]:
    """Hold the servers for a while: shared (no restart meanwhile) or exclusive (to restart one).
    Tests take it through the fixture below; a benchmark on the shared servers takes it itself,
    with a ``timeout`` (seconds) so that a lock nobody gives back fails it instead of hanging it.

    A gate in front of the lock keeps a restart from starving: shared holders pass through the
    gate (a moment's shared hold) on their way in, while a restart holds it exclusively from the
    moment it asks, so tests that start after it wait behind it instead of overlapping forever.

    Whatever a holder starts inherits nothing (Python's descriptors are not inheritable); a
    server restarted from a shell under ``flock(1)`` does inherit its descriptor, and holds the
    lock for as long as the server runs: restart servers from a test, or with ``flock -o``."""
    path = _lock_path()
    deadline = None if timeout is None else time.monotonic() + timeout
    wanted = "exclusively" if exclusive else "shared"
    with open(path.with_name(path.name + ".gate"), "a+") as gate, open(path, "a+") as handle:
        _take(gate, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, wanted)
        try:
            _take(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, wanted)
        finally:
            if not exclusive:
                fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            fcntl.flock(gate, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def servers_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    restarts = any(request.node.get_closest_marker(name) for name in RESTARTING_MARKERS)
    with servers_held(exclusive=restarts):
        yield
