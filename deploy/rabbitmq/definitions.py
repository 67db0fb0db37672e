#!/usr/bin/env python3
"""Render RabbitMQ definitions for a Peerlink site or for the central office.

The broker loads them at boot (``load_definitions`` in ``rabbitmq.conf``), or an operator
imports them into a running broker (``rabbitmqctl import_definitions FILE`` or ``POST
/api/definitions``): a vhost, its exchanges and the queue where a site's events wait for the
central office, a policy, and one user per service with the least privilege that service's
relay, consumer and queue declarations need. Passwords come from the environment and are
written only as salted SHA-256 hashes (``rabbit_password_hashing_sha256``); nothing secret
is committed.

    python deploy/rabbitmq/definitions.py site --site merthyr --admin admin --out definitions.json
    python deploy/rabbitmq/definitions.py central --sites ebbw-vale,merthyr --admin admin

Environment (each password: letters, digits and ``-._~`` only, since it also goes into an
``amqp://`` URL unescaped):

- site: ``RABBITMQ_REFERRALS_PASSWORD``, ``RABBITMQ_MATCHING_PASSWORD``,
  ``RABBITMQ_EVENTS_PASSWORD``, ``RABBITMQ_NOTIFICATIONS_PASSWORD``; with ``--admin``,
  ``RABBITMQ_ADMIN_PASSWORD``.
- central: ``RABBITMQ_REPORTING_PASSWORD``; ``RABBITMQ_SHOVEL_PASSWORDS`` as
  ``site=password,site=password`` (the credentials each site's shovel delivers with);
  with ``--admin``, ``RABBITMQ_ADMIN_PASSWORD``.

Standard library only: it runs in a bare ``python:3.11-slim`` container before the broker.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RABBITMQ_VERSION = "3.10.8"
HASHING = "rabbit_password_hashing_sha256"

# The broker topology every Peerlink vhost has (shared/peerlink/topology.py and central.py
# declare the same, with the same arguments: a declaration that differed would be refused).
EVENTS = "peerlink.events"  # pseudonymous; the only exchange forwarded to the central office
SITE_ONLY = "peerlink.site-only"  # pseudonymous, never forwarded
PRIVATE = "peerlink.private"  # personal data, never leaves the site
UNROUTED = "peerlink.unrouted"  # alternate exchange (fanout) and its queue: nothing is dropped
TO_CENTRAL = "peerlink.to-central"  # a site's events wait here for the shovel to the central office
TOPIC_EXCHANGES = (EVENTS, SITE_ONLY, PRIVATE)

SITE_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SAFE_PASSWORD = re.compile(r"^[A-Za-z0-9._~-]{16,}$")
NOTHING = "^$"  # matches no resource name (RabbitMQ's documented "no permission")


@dataclass(frozen=True)
class ServiceAccess:
    """What one service's relay and consumer do on the broker, which fixes its permissions.

    ``publishes``: per exchange its relay publishes to (from its outbox), the aggregates whose
    events it emits there: its routing keys are ``<site>.<aggregate>.<verb>``.
    ``binds``: per exchange its consumer's inbox is bound to (its subscriptions, plus
    ``peerlink.site-only`` for every ``peerlink.events`` binding: see topology.site_bindings), the
    aggregates it subscribes to: its binding keys are ``*.<aggregate>.<verb>``.
    """

    name: str
    publishes: Mapping[str, tuple[str, ...]]
    binds: Mapping[str, tuple[str, ...]]


# Aggregates whose events travel on peerlink.events (and peerlink.site-only), each emitted by one
# service; those on peerlink.private are each service's contact details.
REFERRALS_OWN = ("advocacy", "outcome", "person", "referral")
MATCHING_OWN = ("match", "mentor")
EVENTS_OWN = ("artevent", "attendance", "registration", "sale")
NOTIFICATIONS_OWN = ("notification",)


def _pseudonymous(*aggregates: str, site_only: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
    """peerlink.events and, for the same or the given aggregates, peerlink.site-only."""
    return {EVENTS: aggregates, SITE_ONLY: tuple(aggregates if site_only is None else site_only)}


# tests/test_deploy.py checks these against the services' own code (their subscriptions and the
# event types they emit) and the event catalogue, so that a new subscription or event cannot
# outgrow its permissions.
SITE_SERVICES = (
    ServiceAccess(
        "referrals",
        publishes={**_pseudonymous(*REFERRALS_OWN), PRIVATE: ("contact",)},
        binds=_pseudonymous("match"),
    ),
    ServiceAccess(
        "matching",
        # A match about someone not counted centrally stays at the site; mentors are staff: theirs never do.
        publishes={**_pseudonymous(*MATCHING_OWN, site_only=("match",)), PRIVATE: ("mentor-contact",)},
        binds=_pseudonymous("mentor", "person", "referral"),
    ),
    ServiceAccess(
        "events",
        publishes={**_pseudonymous(*EVENTS_OWN, site_only=("attendance", "registration")), PRIVATE: ("guest-contact",)},
        binds=_pseudonymous("person", "referral"),
    ),
    ServiceAccess(
        "notifications",
        publishes=_pseudonymous(*NOTIFICATIONS_OWN),
        binds={
            **_pseudonymous("artevent", "match", "person", "referral", "registration"),
            PRIVATE: ("contact", "guest-contact", "mentor-contact"),
        },
    ),
)
CENTRAL_SERVICES = (
    ServiceAccess(
        "reporting",
        publishes={},
        binds=_pseudonymous(*sorted(REFERRALS_OWN + MATCHING_OWN + EVENTS_OWN + NOTIFICATIONS_OWN)),
    ),
)


class DefinitionsError(Exception):
    """A missing or unusable input; the message names it, in one line."""


def _literal(name: str) -> str:
    """A name as a regular expression that matches it alone (names here are [a-z0-9.-])."""
    return re.escape(name).replace("\\-", "-")


def _alternatives(names: Sequence[str]) -> str:
    return "|".join(_literal(n) for n in names)


def _only(names: Sequence[str]) -> str:
    return f"^({_alternatives(names)})$" if names else NOTHING


def _own(service: str) -> str:
    """The consumer's inbox, its retry queues (``<svc>.inbox.retry.<delay>``) and parking queue,
    and its direct exchange ``<svc>.inbox.direct`` (topology.ConsumerQueues.exchange)."""
    return rf"{_literal(service)}\.inbox(\.parked|\.retry\.[0-9.]+(ms|s|m|h)|\.direct)?"


def service_permissions(access: ServiceAccess, vhost: str, user: str) -> dict[str, str]:
    """configure: its own queues and exchange, nothing shared (the definitions create the shared
    exchanges and ``peerlink.unrouted``; the service checks them with passive declares, which need
    no permission, and configure would let it delete them);
    write: the exchanges it publishes to, its own exchange (its retries, parking and replays go
    through it) and its own queues (to bind them). Not the default exchange, through which any
    queue can be written to by name. Nothing on ``peerlink.unrouted``: publishing to an exchange
    whose alternate exchange it is needs no permission on it;
    read: the exchanges it binds from, its own exchange and its own queues (consume, list and
    replay parked). Not ``peerlink.unrouted``: what nobody routes, personal data included, is for
    an operator to read."""
    own = _own(access.name)
    return {
        "user": user,
        "vhost": vhost,
        "configure": f"^{own}$",
        "write": f"^({_alternatives(tuple(access.publishes))}|{own})$" if access.publishes else f"^{own}$",
        "read": f"^({_alternatives(tuple(access.binds))}|{own})$" if access.binds else f"^{own}$",
    }


def _routing_keys(site: str, aggregates: Sequence[str]) -> str:
    """``<site>.<aggregate>.<verb>`` for these aggregates (the verb after the dot: ``mentor``
    does not cover ``mentor-contact``)."""
    return f"^{_literal(site)}\\.({_alternatives(aggregates)})\\." if aggregates else NOTHING


def _binding_keys(aggregates: Sequence[str]) -> str:
    """``*.<aggregate>.<verb>``: every site's events of these aggregates, never ``#``."""
    return f"^\\*\\.({_alternatives(aggregates)})\\." if aggregates else NOTHING


def service_topic_permissions(access: ServiceAccess, vhost: str, user: str, site: str | None) -> list[dict[str, str]]:
    """Per topic exchange it uses: write only its own aggregates' routing keys at its own site
    (``site``; None: it publishes nothing), read (bind) only the binding keys of the aggregates
    it subscribes to. RabbitMQ checks topic ``write`` on publish, ``read`` on bind and unbind."""
    permissions = []
    for exchange in sorted({*access.publishes, *access.binds}):
        published = access.publishes.get(exchange, ())
        permissions.append(
            {
                "user": user,
                "vhost": vhost,
                "exchange": exchange,
                "write": _routing_keys(site, published) if site and published else NOTHING,
                "read": _binding_keys(access.binds.get(exchange, ())),
            }
        )
    return permissions


def hash_password(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password)),
    with a 4-byte random salt."""
    salt = secrets.token_bytes(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def _password(env: Mapping[str, str], variable: str) -> str:
    value = env.get(variable, "")
    if not value:
        raise DefinitionsError(f"{variable} is not set")
    _check_password(variable, value)
    return value


def _check_password(what: str, value: str) -> None:
    if not SAFE_PASSWORD.match(value):
        raise DefinitionsError(
            f"{what}: use at least 16 of A-Z a-z 0-9 - . _ ~ (it goes into an amqp:// URL as it is); "
            "`openssl rand -hex 24` makes one"
        )


def _user(name: str, password: str, tags: Sequence[str] = ()) -> dict[str, object]:
    return {
        "name": name,
        "password_hash": hash_password(password),
        "hashing_algorithm": HASHING,
        "tags": list(tags),
        "limits": {},
    }


def _topology(vhost: str, *, hold_for_central: bool) -> dict[str, list[dict[str, object]]]:
    """The exchanges, the unrouted queue, and (at a site) the queue held for the central office."""
    queue_args = {"x-queue-type": "quorum"}
    exchanges: list[dict[str, object]] = [
        {
            "name": UNROUTED,
            "vhost": vhost,
            "type": "fanout",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        },
    ]
    exchanges += [
        {
            "name": name,
            "vhost": vhost,
            "type": "topic",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            # As the services declare them (peerlink.topology): site-only copies nobody consumes go.
            "arguments": {} if name == SITE_ONLY else {"alternate-exchange": UNROUTED},
        }
        for name in TOPIC_EXCHANGES
    ]
    queues: list[dict[str, object]] = [
        {"name": UNROUTED, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": queue_args}
    ]
    bindings: list[dict[str, object]] = [
        {
            "source": UNROUTED,
            "vhost": vhost,
            "destination": UNROUTED,
            "destination_type": "queue",
            "routing_key": "",
            "arguments": {},
        }
    ]
    if hold_for_central:
        queues.append(
            {"name": TO_CENTRAL, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": queue_args}
        )
        # Only peerlink.events: peerlink.site-only and peerlink.private never leave the site.
        bindings.append(
            {
                "source": EVENTS,
                "vhost": vhost,
                "destination": TO_CENTRAL,
                "destination_type": "queue",
                "routing_key": "#",
                "arguments": {},
            }
        )
    return {"exchanges": exchanges, "queues": queues, "bindings": bindings}


def _policies(vhost: str) -> list[dict[str, object]]:
    # Quorum queue leaders spread over a cluster's nodes rather than all on the node a service
    # happened to connect to (no effect on a single node). Lowest priority: an operator's own
    # policy for a queue wins.
    return [
        {
            "vhost": vhost,
            "name": "peerlink-quorum-leaders",
            "pattern": ".*",
            "apply-to": "queues",
            "priority": 0,
            "definition": {"queue-leader-locator": "balanced"},
        }
    ]


def _document(**parts: list[dict[str, object]]) -> dict[str, object]:
    keys = (
        "users",
        "vhosts",
        "permissions",
        "topic_permissions",
        "parameters",
        "global_parameters",
        "policies",
        "queues",
        "exchanges",
        "bindings",
    )
    return {
        "rabbit_version": RABBITMQ_VERSION,
        "rabbitmq_version": RABBITMQ_VERSION,
        **{key: parts.get(key, []) for key in keys},
    }


def _check_site(site: str, what: str = "--site") -> None:
    if not SITE_SLUG.match(site):
        raise DefinitionsError(f"{what}: {site!r} is not a site slug (lowercase letters, digits and hyphens)")


def _admin(env: Mapping[str, str], name: str | None, vhost: str) -> tuple[list[dict[str, object]], list[dict]]:
    if not name:
        return [], []
    user = _user(name, _password(env, "RABBITMQ_ADMIN_PASSWORD"), tags=("administrator",))
    return [user], [{"user": name, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}]


def site_definitions(
    site: str,
    env: Mapping[str, str],
    *,
    vhost: str | None = None,
    user_prefix: str = "",
    admin: str | None = None,
    hold_for_central: bool = True,
) -> dict[str, object]:
    """One site: its vhost (the site slug unless told), topology, and a user per service
    (``<prefix><site>-<service>``) whose topic permissions allow only this site's routing keys."""
    _check_site(site)
    vhost = vhost or site
    users, permissions = _admin(env, admin and f"{user_prefix}{admin}", vhost)
    topic_permissions = []
    for access in SITE_SERVICES:
        name = f"{user_prefix}{site}-{access.name}"
        users.append(_user(name, _password(env, f"RABBITMQ_{access.name.upper()}_PASSWORD")))
        permissions.append(service_permissions(access, vhost, name))
        topic_permissions += service_topic_permissions(access, vhost, name, site)
    return _document(
        users=users,
        vhosts=[{"name": vhost, "limits": [], "metadata": {"description": f"Peerlink site {site}", "tags": []}}],
        permissions=permissions,
        topic_permissions=topic_permissions,
        policies=_policies(vhost),
        **_topology(vhost, hold_for_central=hold_for_central),
    )


def shovel_passwords(raw: str) -> dict[str, str]:
    """``site=password,site=password`` -> {site: password}."""
    found: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        site, sep, password = item.partition("=")
        if not sep:
            raise DefinitionsError("RABBITMQ_SHOVEL_PASSWORDS: each entry must be site=password")
        _check_site(site.strip(), "RABBITMQ_SHOVEL_PASSWORDS")
        _check_password(f"RABBITMQ_SHOVEL_PASSWORDS ({site.strip()})", password.strip())
        found[site.strip()] = password.strip()
    return found


def central_definitions(
    sites: Sequence[str],
    env: Mapping[str, str],
    *,
    vhost: str = "central",
    user_prefix: str = "",
    admin: str | None = None,
) -> dict[str, object]:
    """The central office: its vhost and topology, the reporting user, and per site a shovel user
    (``<prefix>shovel-<site>``) that may only publish that site's routing keys to
    ``peerlink.events``: no configure, no read, no other exchange, no other site's events."""
    if not sites:
        raise DefinitionsError("--sites: name at least one site")
    for site in sites:
        _check_site(site, "--sites")
    passwords = shovel_passwords(env.get("RABBITMQ_SHOVEL_PASSWORDS", ""))
    missing = [s for s in sites if s not in passwords]
    if missing:
        raise DefinitionsError(f"RABBITMQ_SHOVEL_PASSWORDS has no password for {', '.join(missing)}")
    users, permissions = _admin(env, admin and f"{user_prefix}{admin}", vhost)
    topic_permissions = []
    for access in CENTRAL_SERVICES:
        name = f"{user_prefix}central-{access.name}"
        users.append(_user(name, _password(env, f"RABBITMQ_{access.name.upper()}_PASSWORD")))
        permissions.append(service_permissions(access, vhost, name))
        topic_permissions += service_topic_permissions(access, vhost, name, site=None)
    for site in sites:
        name = f"{user_prefix}shovel-{site}"
        users.append(_user(name, passwords[site]))
        permissions.append(
            {"user": name, "vhost": vhost, "configure": NOTHING, "write": _only((EVENTS,)), "read": NOTHING}
        )
        topic_permissions.append(
            {"user": name, "vhost": vhost, "exchange": EVENTS, "write": f"^{_literal(site)}\\.", "read": NOTHING}
        )
    return _document(
        users=users,
        vhosts=[{"name": vhost, "limits": [], "metadata": {"description": "Peerlink central office", "tags": []}}],
        permissions=permissions,
        topic_permissions=topic_permissions,
        policies=_policies(vhost),
        **_topology(vhost, hold_for_central=False),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    site = commands.add_parser("site", help="a site's vhost, topology and service users")
    site.add_argument("--site", required=True)
    site.add_argument("--vhost", default=None, help="default: the site slug")
    site.add_argument(
        "--standalone",
        action="store_true",
        help=f"no {TO_CENTRAL} queue (a site never linked to a central office; otherwise its events wait there)",
    )
    central = commands.add_parser("central", help="the central office's vhost, reporting and shovel users")
    central.add_argument("--sites", required=True, help="comma-separated site slugs")
    central.add_argument("--vhost", default="central")
    for command in (site, central):
        command.add_argument("--admin", default=None, help="also an administrator user of this name")
        command.add_argument("--user-prefix", default="", help="prefix every user name (several networks, tests)")
        command.add_argument("--out", type=Path, default=None, help="write here (mode 0644) instead of stdout")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        if args.command == "site":
            document = site_definitions(
                args.site,
                env,
                vhost=args.vhost,
                user_prefix=args.user_prefix,
                admin=args.admin,
                hold_for_central=not args.standalone,
            )
        else:
            sites = [s.strip() for s in args.sites.split(",") if s.strip()]
            document = central_definitions(sites, env, vhost=args.vhost, user_prefix=args.user_prefix, admin=args.admin)
    except DefinitionsError as exc:
        print(f"definitions: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(document, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.out.with_name(args.out.name + ".tmp")
        temporary.write_text(text)
        temporary.chmod(0o644)  # read by the broker's own user; it holds hashes, never passwords
        temporary.replace(args.out)
        users = ", ".join(str(u["name"]) for u in document["users"])  # type: ignore[index]
        print(f"definitions: wrote {args.out} (users: {users})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
