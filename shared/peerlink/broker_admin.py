"""Setting up a site on the broker through the management HTTP API.

``peerlink broker setup --site merthyr`` creates the site's vhost, grants the user, and
declares the exchanges, so that a site's first events have somewhere to go before any
consumer has started (and anything unroutable is kept in ``peerlink.unrouted``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import httpx

from peerlink.amqp import connect
from peerlink.topology import create_shared_topology


@dataclass(frozen=True)
class ManagementApi:
    """The management plugin's HTTP API (``http://user:pass@host:15672``)."""

    url: str

    @classmethod
    def for_amqp_url(cls, amqp_url: str, port: int = 15672) -> ManagementApi:
        parts = urlsplit(amqp_url)
        user = unquote(parts.username or "guest")
        password = unquote(parts.password or "guest")
        return cls(f"http://{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{port}")

    def client(self) -> httpx.Client:
        parts = urlsplit(self.url)
        base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}"
        return httpx.Client(
            base_url=base, auth=(unquote(parts.username or "guest"), unquote(parts.password or "guest")), timeout=10
        )

    def ensure_vhost(self, vhost: str, user: str = "guest") -> None:
        with self.client() as client:
            client.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
            client.put(
                f"/api/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                json={"configure": ".*", "write": ".*", "read": ".*"},
            ).raise_for_status()

    def delete_vhost(self, vhost: str) -> None:
        with self.client() as client:
            response = client.delete(f"/api/vhosts/{quote(vhost, safe='')}")
            if response.status_code not in (204, 404):
                response.raise_for_status()

    def reachable(self) -> bool:
        try:
            with self.client() as client:
                return client.get("/api/overview").status_code == 200
        except httpx.HTTPError:
            return False


def vhost_of(amqp_url: str) -> str:
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def setup_site(amqp_url: str, management: ManagementApi | None = None) -> str:
    """Idempotent: the vhost, the user's permissions, the exchanges."""
    management = management or ManagementApi.for_amqp_url(amqp_url)
    vhost = vhost_of(amqp_url)
    user = unquote(urlsplit(amqp_url).username or "guest")
    management.ensure_vhost(vhost, user)
    connection = connect(amqp_url, name="peerlink-setup")
    try:
        create_shared_topology(connection.channel())
    finally:
        connection.release()
    return vhost
