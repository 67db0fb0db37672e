"""Sites and a central office as fault tests need them: each service its own real ``serve`` and
``work`` processes, on its own vhost and database, driven over HTTP and counted from the
services' own records (their outbox, the central event log)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from peerlink.contracts import EVENTS_EXCHANGE
from peerlink.db import create_engine
from peerlink.tables import outbox
from peerlink.testing import Tokens, free_port, wait_for_http
from referrals.app import DEFINITION as REFERRALS
from reporting.app import DEFINITION as REPORTING

SOURCES = ("gp", "self", "probation", "drug-alcohol-service", "family", "mental-health-team")


def service_env(site: str, database_url: str, amqp_url: str, tokens: Tokens, **extra: str) -> dict[str, str]:
    """A service process's environment, as an operator sets it."""
    return {
        "PEERLINK_SITE": site,
        "PEERLINK_DATABASE_URL": database_url,
        "PEERLINK_AMQP_URL": amqp_url,
        "PEERLINK_API_TOKENS": tokens.config(),
        "PEERLINK_PORT": str(free_port()),
        "PEERLINK_RETRY_DELAYS": "200ms,1s",
        **extra,
    }


class ReferralsSite:
    """One site's referrals service as its own ``serve`` and ``work`` processes."""

    def __init__(
        self, name: str, amqp_url: str, database_url: str, tokens: Tokens, processes: Callable[..., Any]
    ) -> None:
        self.name, self.amqp_url, self.tokens = name, amqp_url, tokens
        REFERRALS.migrations.upgrade(database_url)
        env = service_env(name, database_url, amqp_url, tokens)
        self.serve = processes("peerlink-referrals", "serve", env=env)
        self.work = processes("peerlink-referrals", "work", env=env)
        self.base = f"http://127.0.0.1:{env['PEERLINK_PORT']}"
        self.engine = create_engine(database_url, poolclass=sa.pool.NullPool)
        self.client = httpx.Client(base_url=self.base, timeout=15, headers=tokens.header("coordinator", name))

    def wait_ready(self) -> None:
        wait_for_http(f"{self.base}/health/live", timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(method, path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code < 300, response.text
        return response.json()

    def refer(self, n: int, rng: random.Random) -> dict[str, Any]:
        """A referral as a coordinator records it; most are then accepted."""
        created = self.call(
            "POST",
            "/referrals",
            {
                "site": self.name,
                "person": {
                    "given_name": f"Person{n}",
                    "family_name": f"{self.name.title()}{n}",
                    "date_of_birth": f"{1960 + n % 40}-0{1 + n % 9}-1{n % 9}",
                    "preferred_language": rng.choice(["cy", "en"]),
                    "contact": {"email": f"p{n}.{self.name}@example.org", "channels": ["email"]},
                },
                "source": rng.choice(SOURCES),
                "support_needs": rng.sample(["alcohol", "mental-health", "isolation", "housing", "trauma"], 2),
                "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
            },
        )
        if rng.random() < 0.6:
            created = self.call("POST", f"/referrals/{created['id']}/accept", {})
        return created

    def own_figures(self) -> dict[str, int]:
        listed = self.call("GET", "/referrals?limit=200")["items"]
        return {"received": len(listed), "accepted": sum(1 for r in listed if r["accepted_at"])}

    def outbox_to_central(self) -> tuple[int, set[str]]:
        """(events committed for the central office, those of them the relay has published)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox.c.event_id, outbox.c.published_at).where(outbox.c.exchange == EVENTS_EXCHANGE)
            ).all()
        return len(rows), {row.event_id for row in rows if row.published_at is not None}

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


class CentralOffice:
    """Reporting at the central office: its ``work`` (the event log) and ``serve`` (the reports)."""

    def __init__(self, amqp_url: str, database_url: str, tokens: Tokens, processes: Callable[..., Any]) -> None:
        self.amqp_url = amqp_url
        REPORTING.migrations.upgrade(database_url)
        env = service_env("central", database_url, amqp_url, tokens)
        self.work = processes("peerlink-reporting", "work", env=env)
        self.serve = processes("peerlink-reporting", "serve", env=env)
        self.base = f"http://127.0.0.1:{env['PEERLINK_PORT']}"
        self.engine = create_engine(database_url, poolclass=sa.pool.NullPool)
        self.client = httpx.Client(base_url=self.base, timeout=15, headers=tokens.header("central-reader", "central"))

    def wait_ready(self) -> None:
        wait_for_http(f"{self.base}/health/live", timeout=60)

    def figures(self) -> dict[str, Any]:
        response = self.client.get("/reports?small_numbers=show")
        assert response.status_code == 200, response.text
        return response.json()

    def logged(self) -> list[tuple[str, str, str]]:
        """(site, source, event id) of every event in the central event log."""
        from reporting.store import event_log

        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(event_log.c.site, event_log.c.source, event_log.c.event_id)).all()
        return [tuple(row) for row in rows]

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()
