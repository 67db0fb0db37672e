"""Waiting on real completion, never on sleep; running components in threads."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    """Poll real state until ``predicate`` is truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate} (last: {last!r})")


@dataclass
class Running:
    """A component running in a thread; stopping it re-raises whatever killed it."""

    component: Any
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Running:
        def target() -> None:
            try:
                self.component.run(self.stop)
            except BaseException as exc:  # noqa: BLE001 - surfaced in halt()
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True, name=type(self.component).__name__)
        self.thread.start()
        return self

    def halt(self, timeout: float = 15.0) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), f"{self.component!r} did not stop within {timeout}s"
        if self.error:
            raise self.error


@contextlib.contextmanager
def running(*components: Any) -> Iterator[list[Running]]:
    started = [Running(c).start() for c in components]
    try:
        yield started
    finally:
        for item in started:
            item.halt()


def count_rows(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def queue_consumers(amqp_url: str, queue: str) -> int:
    """How many consumers a queue has (0 if it does not exist yet)."""
    from peerlink.amqp import connect

    connection = connect(amqp_url, name="test-probe")
    try:
        _, _, consumers = connection.channel().queue_declare(queue, passive=True)
        return int(consumers)
    except Exception:  # noqa: BLE001 - a missing queue closes the channel: nobody consumes it
        return 0
    finally:
        connection.release()


def wait_for_consumer(amqp_url: str, queue: str, timeout: float = 15.0) -> None:
    wait_until(lambda: queue_consumers(amqp_url, queue) > 0, timeout=timeout, what=f"a consumer on {queue}")


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout=timeout, what=f"{url} to answer")
