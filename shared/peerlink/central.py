"""The link from a site to the central office, on RabbitMQ's own machinery: a dynamic shovel.

At the site, a durable quorum queue ``peerlink.to-central`` is bound to ``peerlink.events``
(never to ``peerlink.site-only`` or ``peerlink.private``); a shovel on the *site's* broker moves
its messages to the central broker's ``peerlink.events`` with their routing keys, acking each
only after the central broker confirmed it. While the central office or the network is away,
events wait in the queue at the site; when the link returns they all go, in order. A shovel
that crashed between the central confirm and its ack re-sends a message once: the central
office's event log is keyed by the CloudEvents ``source`` + ``id``, so it counts once.

Why a shovel and not federation: a federated exchange is dialled by the downstream (the
central office would connect out to every site) and its upstream queue goes with the link,
whereas a shovel is configured at the site, from a queue the site keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import amqp

from peerlink.amqp import connect
from peerlink.broker_admin import ManagementApi, setup_site, vhost_of
from peerlink.contracts import EVENTS_EXCHANGE
from peerlink.topology import declare_exchanges, quorum_arguments

OUTBOUND_QUEUE = "peerlink.to-central"
SHOVEL = "peerlink-to-central"


class LinkError(Exception):
    """The link could not be set up; the message says what to check."""


@dataclass(frozen=True)
class LinkStatus:
    site_vhost: str
    configured: bool
    state: str  # "running", "starting", "terminated", … as the shovel plugin says; "absent"
    waiting: int | None  # events held at the site for the central office
    detail: str = ""


def shovel_definition(site_vhost: str, central_amqp_url: str, *, prefetch: int = 1000) -> dict[str, Any]:
    """The dynamic shovel's parameter value (the management API's and ``rabbitmqctl``'s form)."""
    return {
        "src-protocol": "amqp091",
        # No host: a direct connection to the broker the shovel runs on, into the site's vhost.
        "src-uri": f"amqp:///{quote(site_vhost, safe='')}",
        "src-queue": OUTBOUND_QUEUE,
        "src-prefetch-count": prefetch,
        "src-delete-after": "never",
        "dest-protocol": "amqp091",
        "dest-uri": central_amqp_url,
        "dest-exchange": EVENTS_EXCHANGE,
        # No dest-exchange-key: each event keeps its routing key (<site>.<aggregate>.<verb>).
        "dest-add-forward-headers": False,
        "ack-mode": "on-confirm",
        "reconnect-delay": 5,
    }


def prepare_site(site_amqp_url: str, site_management: ManagementApi) -> str:
    """The site's exchanges and the queue where its events wait for the central office."""
    vhost = setup_site(site_amqp_url, site_management)
    connection = connect(site_amqp_url, name="peerlink-central-link")
    try:
        channel = connection.channel()
        declare_exchanges(channel)
        channel.queue_declare(OUTBOUND_QUEUE, durable=True, auto_delete=False, arguments=quorum_arguments())
        channel.queue_bind(OUTBOUND_QUEUE, EVENTS_EXCHANGE, "#")
    finally:
        connection.release()
    return vhost


def link(
    site_amqp_url: str,
    central_amqp_url: str,
    *,
    site_management: ManagementApi | None = None,
    central_management: ManagementApi | None = None,
) -> str:
    """Idempotent: set up (or update) the site's link to the central office.

    ``central_management`` prepares the central vhost and exchanges too, when this operator
    may (one broker, or an operator of both); otherwise the central office must have done so.
    """
    site_management = site_management or ManagementApi.for_amqp_url(site_amqp_url)
    if central_management is not None:
        setup_site(central_amqp_url, central_management)
    vhost = prepare_site(site_amqp_url, site_management)
    value = shovel_definition(vhost, central_amqp_url)
    with site_management.client() as client:
        response = client.put(_parameter_path(vhost), json={"value": value})
        if response.status_code == 400 and "shovel" in response.text.lower():
            raise LinkError(f"the site's broker refused the shovel: {response.text.strip()}")
        if response.status_code == 404:
            raise LinkError(
                "the site's broker has no shovel plugin: run `rabbitmq-plugins enable rabbitmq_shovel "
                "rabbitmq_shovel_management` on it"
            )
        response.raise_for_status()
    return vhost


def unlink(site_amqp_url: str, site_management: ManagementApi | None = None) -> bool:
    """Remove the shovel (the queue stays, so the site's events keep waiting for a new link)."""
    site_management = site_management or ManagementApi.for_amqp_url(site_amqp_url)
    with site_management.client() as client:
        response = client.delete(_parameter_path(vhost_of(site_amqp_url)))
        if response.status_code == 404:
            return False
        response.raise_for_status()
    return True


def status(site_amqp_url: str, site_management: ManagementApi | None = None) -> LinkStatus:
    site_management = site_management or ManagementApi.for_amqp_url(site_amqp_url)
    vhost = vhost_of(site_amqp_url)
    encoded = quote(vhost, safe="")
    with site_management.client() as client:
        configured = client.get(_parameter_path(vhost)).status_code == 200
        shovels = client.get(f"/api/shovels/{encoded}")
        running = [s for s in (shovels.json() if shovels.status_code == 200 else []) if s.get("name") == SHOVEL]
    waiting = waiting_at_site(site_amqp_url)
    if not running:
        return LinkStatus(vhost, configured, "absent" if not configured else "starting", waiting)
    shovel = running[0]
    return LinkStatus(vhost, configured, str(shovel.get("state", "unknown")), waiting, str(shovel.get("reason", "")))


def waiting_at_site(site_amqp_url: str) -> int | None:
    """Events in the site's outbound queue, counted by the broker now (the management API's
    figures lag by seconds); None when the queue does not exist."""
    try:
        connection = connect(site_amqp_url, name="peerlink-central-status", timeout=5, heartbeat=0)
    except Exception:  # noqa: BLE001 - an unreachable broker is reported as "unknown", not a crash
        return None
    try:
        _, count, _ = connection.channel().queue_declare(OUTBOUND_QUEUE, passive=True)
        return int(count)
    except amqp.exceptions.NotFound:
        return None
    finally:
        connection.release()


def _parameter_path(vhost: str) -> str:
    return f"/api/parameters/shovel/{quote(vhost, safe='')}/{SHOVEL}"


__all__ = ["OUTBOUND_QUEUE", "SHOVEL", "LinkError", "LinkStatus", "link", "status", "unlink"]
