"""Run a service's background components (consumers, relay, senders) until told to stop.

Each component is an object with ``run(stop)``; each gets its own thread and its own
connections. SIGTERM or SIGINT stops them all gracefully; a component that dies of an
unexpected error stops the others too, and the process exits non-zero so that its
supervisor restarts it rather than leaving half a worker running.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Component(Protocol):
    def run(self, stop: threading.Event) -> None: ...


POLL_SECONDS = 0.2  # how soon a signal received is passed on to the components


def run_components(components: dict[str, Component], stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    failed: list[str] = []
    # The signal handler only notes the signal: Python runs handlers in the main thread between
    # any two bytecodes, so one that called stop.set() could run while the main thread was
    # inside stop.set() itself (a second SIGTERM from a supervisor, a double Ctrl-C), and wait
    # forever on the lock the main thread holds: the worker then hung until SIGKILL.
    signalled: list[int] = []

    def guarded(name: str, component: Component) -> None:
        try:
            component.run(stop)
        except Exception:
            log.exception("worker component crashed", extra={"component": name})
            failed.append(name)
            stop.set()

    previous: dict[int, Any] = {}  # the handlers before ours, put back on the way out
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda received, _frame: signalled.append(received))
    try:
        threads = [
            threading.Thread(target=guarded, args=item, name=item[0], daemon=True) for item in components.items()
        ]
        for thread in threads:
            thread.start()
        log.info("worker started", extra={"components": sorted(components)})
        while alive := [t for t in threads if t.is_alive()]:
            if signalled and not stop.is_set():
                log.info("worker stopping", extra={"signal": signal.Signals(signalled[0]).name})
                stop.set()
            alive[0].join(timeout=POLL_SECONDS)
    finally:
        for signum, handler in previous.items():  # a signal after this is no longer only noted
            signal.signal(signum, handler)
    log.info("worker stopped", extra={"failed": failed})
    return 1 if failed else 0
