"""``make run``: the whole network on one machine, with the embedded defaults.

Three sites (Ebbw Vale, Merthyr, Pontypridd) and the central office, each a vhost of the local
RabbitMQ; every service's API and worker for every site, SQLite databases under ``var/<site>/``;
each site's ``peerlink.events`` linked to the central office by the shovel command; a
development mail server that prints what it receives; and a stream of realistic activity.

    python deploy/local/network.py prepare     # idempotent: vhosts, links, migrations, tokens, Procfile
    python deploy/local/network.py activity    # seeds each site, then a gentle stream (run by the Procfile)

Ports: site n (1, 2, 3) serves referrals on 81n1, matching 81n2, events 81n3, notifications 81n4;
the central office's reporting on 8105; mail on 8025.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("PEERLINK_VAR_DIR", ROOT / "var"))
NETWORK = VAR / "network"
BROKER = os.environ.get("PEERLINK_BROKER_URL", "amqp://guest:guest@localhost:5672/")
SITES = ("ebbw-vale", "merthyr", "pontypridd")
SERVICES = ("referrals", "matching", "events", "notifications")
CENTRAL_PORT = 8105
MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))


@dataclass(frozen=True)
class SiteRun:
    name: str
    index: int

    def port(self, service: str) -> int:
        return 8100 + 10 * self.index + SERVICES.index(service) + 1

    @property
    def amqp_url(self) -> str:
        return f"{BROKER.rstrip('/')}/{quote(self.name, safe='')}"

    def database_url(self, service: str) -> str:
        return f"sqlite:///{VAR / self.name / f'{service}.db'}"

    def base(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"


def sites(only: str | None = None) -> list[SiteRun]:
    chosen = [SiteRun(name, n) for n, name in enumerate(SITES, start=1)]
    return [s for s in chosen if only in (None, s.name)]


CENTRAL_AMQP = f"{BROKER.rstrip('/')}/central"
CENTRAL_DB = f"sqlite:///{VAR / 'central' / 'reporting.db'}"


# Tokens -----------------------------------------------------------------------------------------


def tokens() -> dict[str, dict[str, str]]:
    """Development tokens, made once and kept (gitignored, owner-only) under var/network/."""
    from peerlink.web.auth import new_token

    path = NETWORK / "tokens.json"
    if path.exists():
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    made = {
        **{site: {role: new_token() for role in ("coordinator", "facilitator", "service")} for site in SITES},
        "central": {"central-reader": new_token()},
    }
    NETWORK.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(made, indent=2))
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return made


def token_config(site: str, issued: dict[str, dict[str, str]]) -> str:
    from peerlink.web.auth import token_entry

    return ",".join(token_entry(token, role, site, "dev") for role, token in issued[site].items())


# Prepare ----------------------------------------------------------------------------------------


def prepare(only: str | None = None) -> None:
    from peerlink import central
    from peerlink.broker_admin import ManagementApi, setup_site

    issued = tokens()
    management = ManagementApi.for_amqp_url(BROKER)
    setup_site(CENTRAL_AMQP, management)
    for site in sites(only):
        setup_site(site.amqp_url, management)
        central.link(site.amqp_url, CENTRAL_AMQP, site_management=management, central_management=management)
        (VAR / site.name).mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            definition(service).migrations.upgrade(site.database_url(service))
    (VAR / "central").mkdir(parents=True, exist_ok=True)
    definition("reporting").migrations.upgrade(CENTRAL_DB)
    write_procfile(issued, only)
    print_welcome(issued, only)


def definition(service: str):
    import importlib

    return importlib.import_module(f"{service}.app").DEFINITION


def site_environment(
    site: str, *, database_url: str, amqp_url: str, tokens: str, port: int, smtp_url: str
) -> dict[str, str]:
    """What a site's service process is started with, here and by the load benchmark (tests/bench/load_day.py)."""
    return {
        "PEERLINK_SITE": site,
        "PEERLINK_DATABASE_URL": database_url,
        "PEERLINK_AMQP_URL": amqp_url,
        "PEERLINK_API_TOKENS": tokens,
        "PEERLINK_PORT": str(port),
        "PEERLINK_SMTP_URL": smtp_url,
        # Texts are written to the notifications worker's log, not sent, on a development machine.
        "PEERLINK_SMS_URL": "log:",
        "PEERLINK_MAIL_FROM": f"Peerlink {site} <no-reply@{site}.peerlink.invalid>",
    }


def write_procfile(issued: dict[str, dict[str, str]], only: str | None) -> None:
    lines = ["# Generated by deploy/local/network.py prepare: every process of the local network."]
    for site in sites(only):
        for service in SERVICES:
            env = site_environment(
                site.name,
                database_url=site.database_url(service),
                amqp_url=site.amqp_url,
                tokens=token_config(site.name, issued),
                port=site.port(service),
                smtp_url=f"smtp://127.0.0.1:{MAIL_PORT}",
            )
            prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            lines.append(f"{site.name}-{service}-api: env {prefix} peerlink-{service} serve --threads 4")
            lines.append(f"{site.name}-{service}-work: env {prefix} peerlink-{service} work")
    if only is None:
        lines += _central_lines(issued)
    lines.append(f"mail: python -m aiosmtpd -n -l 127.0.0.1:{MAIL_PORT}")
    site_args = f" --site {only}" if only else ""
    lines.append(f"activity: python {ROOT / 'deploy/local/network.py'} activity{site_args}")
    procfile = NETWORK / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    procfile.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _central_lines(issued: dict[str, dict[str, str]]) -> list[str]:
    central_env = {
        "PEERLINK_SITE": "central",
        "PEERLINK_DATABASE_URL": CENTRAL_DB,
        "PEERLINK_AMQP_URL": CENTRAL_AMQP,
        "PEERLINK_API_TOKENS": token_config("central", issued),
        "PEERLINK_PORT": str(CENTRAL_PORT),
    }
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in central_env.items())
    return [
        f"central-reporting-api: env {prefix} peerlink-reporting serve --threads 4",
        f"central-reporting-work: env {prefix} peerlink-reporting work",
    ]


def print_welcome(issued: dict[str, dict[str, str]], only: str | None) -> None:
    print("\nThe Peerlink network is starting (Ctrl-C stops everything).\n")
    for site in sites(only):
        print(f"  {site.name}")
        print(f"    self-referral  {site.base('referrals')}/self-referral?lang=cy")
        print(f"    public events  {site.base('events')}/public/events")
        for service in SERVICES:
            print(f"    {service:<14} {site.base(service)}/openapi.json")
        print(f"    coordinator token: {issued[site.name]['coordinator']}")
    if only is None:
        print("  central office")
        print(f"    dashboard      http://127.0.0.1:{CENTRAL_PORT}/dashboard  (sign in with the token below)")
        print(f"    reports        http://127.0.0.1:{CENTRAL_PORT}/reports?small_numbers=show")
        print(f"    central-reader token: {issued['central']['central-reader']}")
    else:
        print("  (the site alone: its events wait for the central office in its queue peerlink.to-central)")
    print("  broker           http://127.0.0.1:15672/  (guest / guest)")
    print(f"  mail             printed by the 'mail' process (127.0.0.1:{MAIL_PORT})")
    print("\nTokens are development tokens kept in var/network/tokens.json.\n", flush=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "prepare"
    only = argv[argv.index("--site") + 1] if "--site" in argv else None
    if only is not None and only not in SITES:
        print(f"unknown site {only!r}; the local network has {', '.join(SITES)}", file=sys.stderr)
        return 2
    if command == "prepare":
        prepare(only)
        return 0
    if command == "activity":
        sys.path.insert(0, str(Path(__file__).parent))
        from activity import run

        return run([s.name for s in sites(only)], tokens(), {s.name: s for s in sites(only)})
    print(f"usage: {argv[0]} prepare|activity [--site SITE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
