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
from typing import Protocol

log = logging.getLogger(__name__)


class Component(Protocol):
    def run(self, stop: threading.Event) -> None: ...


def run_components(components: dict[str, Component], stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    failed: list[str] = []

    def guarded(name: str, component: Component) -> None:
        try:
            component.run(stop)
        except Exception:
            log.exception("worker component crashed", extra={"component": name})
            failed.append(name)
            stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    threads = [threading.Thread(target=guarded, args=item, name=item[0], daemon=True) for item in components.items()]
    for thread in threads:
        thread.start()
    log.info("worker started", extra={"components": sorted(components)})
    while any(t.is_alive() for t in threads):
        for thread in threads:
            thread.join(timeout=0.5)
    log.info("worker stopped", extra={"failed": failed})
    return 1 if failed else 0
