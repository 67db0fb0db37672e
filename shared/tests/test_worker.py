"""``peerlink-<service> work`` stops on SIGTERM or SIGINT, however the signals arrive."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

from peerlink.worker import run_components

# A worker in its own process: one component waiting for the stop, and a stop whose set() holds
# its lock while a second SIGTERM arrives (as from a supervisor that signals twice, or a double
# Ctrl-C). A signal handler that itself calls set() waits forever on that lock.
WORKER = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from peerlink.worker import run_components

    class Waits:
        def run(self, stop):
            stop.wait()

    class Signals:  # from inside a component: the worker's handlers are in place by then
        def run(self, stop):
            os.kill(os.getpid(), signal.SIG{first})
            stop.wait()

    class SignalledAgainWhileSetting:
        def __init__(self):
            self._event, self._lock, self._again = threading.Event(), threading.Lock(), True

        def set(self):
            with self._lock:
                if self._again:
                    self._again = False
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(0.2)  # the signal's handler runs here, in this thread, lock held
                self._event.set()

        def is_set(self):
            return self._event.is_set()

        def wait(self, timeout=None):
            return self._event.wait(timeout)

    sys.exit(run_components({{"waits": Waits(), "signals": Signals()}}, SignalledAgainWhileSetting()))
    """
)


def run_worker(first: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WORKER.format(first=first)], capture_output=True, text=True, timeout=30
    )


def test_a_second_signal_while_the_first_is_being_handled_still_stops_the_worker():
    for first in ("TERM", "INT"):
        try:
            done = run_worker(first)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"SIG{first} then SIGTERM: the worker hung instead of stopping") from None
        assert done.returncode == 0, done.stderr


def test_the_worker_says_which_signal_stopped_it(caplog):
    """In this process: the handler notes the signal, the main thread passes it on."""

    class Signals:
        """Signals from inside a component: the worker's handler is in place by then (a signal
        before it would reach pytest's own)."""

        def run(self, stop: threading.Event) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            stop.wait()

    caplog.set_level(logging.INFO, logger="peerlink.worker")
    previous = signal.getsignal(signal.SIGTERM)
    assert run_components({"signals": Signals()}) == 0
    stopping = [r for r in caplog.records if r.getMessage() == "worker stopping"]
    assert [r.signal for r in stopping] == ["SIGTERM"]  # type: ignore[attr-defined]
    assert signal.getsignal(signal.SIGTERM) is previous  # the process's own handler is back
