"""The servers lock: shared holds go together, an exclusive one waits for them, and a bounded
wait fails with a clear line instead of hanging (on a lock file of its own, never the real one)."""

import fcntl
import subprocess
import sys
import time

import pytest

from peerlink.testing.exclusive import servers_held


@pytest.fixture
def lock_file(tmp_path, monkeypatch):
    path = tmp_path / "servers.lock"
    monkeypatch.setenv("PEERLINK_TEST_SERVERS_LOCK", str(path))
    return path


def test_shared_holds_go_together_and_an_exclusive_one_waits_for_them(lock_file):
    with servers_held(), servers_held(timeout=1):
        started = time.monotonic()
        with (
            pytest.raises(TimeoutError, match="could not be taken exclusively in time"),
            servers_held(exclusive=True, timeout=1),
        ):
            pass
        assert 0.9 <= time.monotonic() - started < 5
    with servers_held(exclusive=True, timeout=1):
        pass


def test_a_process_holding_the_lock_exclusively_makes_a_bounded_wait_fail(lock_file):
    # As a server restarted under flock(1) would: another process holds it and does not give it back.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('held', flush=True); time.sleep(30)",
            str(lock_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TimeoutError, match="could not be taken shared"), servers_held(timeout=0.5):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    # The holder gone, the lock is free again; while held shared, nobody else has it exclusively.
    with servers_held(timeout=5), open(lock_file) as probe, pytest.raises(BlockingIOError):
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_restart_waiting_for_the_lock_holds_back_tests_that_start_after_it(lock_file):
    """No starvation: while a restart waits for the tests in progress, a new test waits behind it."""
    import threading

    restarted = threading.Event()

    def restart():
        with servers_held(exclusive=True, timeout=10):
            restarted.set()

    with servers_held():
        waiting = threading.Thread(target=restart)
        waiting.start()
        time.sleep(0.3)  # the restart is at the gate, waiting for this test
        with pytest.raises(TimeoutError, match="could not be taken shared"), servers_held(timeout=0.5):
            pass
        assert not restarted.is_set()
    waiting.join(timeout=10)
    assert restarted.is_set()
    with servers_held(timeout=1):
        pass
