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

import pytest

RESTARTING_MARKERS = ("restarts_broker", "restarts_database")


def _lock_path() -> Path:
    default = Path(tempfile.gettempdir()) / "peerlink-test-servers.lock"
    return Path(os.environ.get("PEERLINK_TEST_SERVERS_LOCK", default))


@contextlib.contextmanager
def servers_held(*, exclusive: bool = False, timeout: float | None = None) -> Iterator[None]:
    """Hold the servers for a while: shared (no restart meanwhile) or exclusive (to restart one).
    Tests take it through the fixture below; a benchmark on the shared servers takes it itself,
    with a ``timeout`` (seconds) so that a lock nobody gives back fails it instead of hanging it.

    Whatever a holder starts inherits nothing (Python's descriptors are not inheritable); a
    server restarted from a shell under ``flock(1)`` does inherit its descriptor, and holds the
    lock for as long as the server runs: restart servers from a test, or with ``flock -o``."""
    with open(_lock_path(), "a+") as handle:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if timeout is None:
            fcntl.flock(handle, mode)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        wanted = "exclusively" if exclusive else "shared"
                        raise TimeoutError(
                            f"{_lock_path()} could not be taken {wanted} in {timeout:.0f} s: another process "
                            "holds it (its inode in /proc/locks says which)"
                        ) from None
                    time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def servers_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    restarts = any(request.node.get_closest_marker(name) for name in RESTARTING_MARKERS)
    with servers_held(exclusive=restarts):
        yield
