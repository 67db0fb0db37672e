"""``make run``: the whole network on one machine, with the embedded defaults.

Three sites (Ebbw Vale, Merthyr, Pontypridd) and the central office, each a vhost of the local
RabbitMQ; every service's API and worker for every site, SQLite databases under ``var/<site>/``;
each site's ``peerlink.events`` linked to the central office by the shovel command; a
development mail server that prints what it receives; and a stream of realistic activity.
Every process is a line of ``deploy/local/Procfile`` (checked in; ``procfile()`` below is what it
must say, and a test holds it to that), which honcho starts.

    python deploy/local/network.py prepare     # idempotent: vhosts, links, migrations, tokens
    python deploy/local/network.py processes   # the Procfile's processes to start (one site's, with --site)
    python deploy/local/network.py env SITE SERVICE -- COMMAND...   # COMMAND in that service's environment
    python deploy/local/network.py activity    # seeds each site, then a gentle stream (run by the Procfile)

One site alone (``make run SITE=merthyr``, or ``PEERLINK_LOCAL_SITE=merthyr``) is not linked to
the central office: its events wait at the site, in ``peerlink.to-central``, for the next
whole-network run.

Ports: site n (1, 2, 3) serves referrals on 81n1, matching 81n2, events 81n3, notifications 81n4;
the central office's reporting on 8105; mail on 8025. ``PEERLINK_LOCAL_PORT_BASE`` (8100) and
``PEERLINK_LOCAL_VHOST_PREFIX`` (none) move the ports and vhosts, so that a test can run a
network of its own beside a developer's.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("PEERLINK_VAR_DIR", ROOT / "var"))
NETWORK = VAR / "network"
BROKER = os.environ.get("PEERLINK_BROKER_URL", "amqp://guest:guest@localhost:5672/")
VHOST_PREFIX = os.environ.get("PEERLINK_LOCAL_VHOST_PREFIX", "")
PORT_BASE = int(os.environ.get("PEERLINK_LOCAL_PORT_BASE", "8100"))
ONLY_SITE = os.environ.get("PEERLINK_LOCAL_SITE") or None
SITES = ("ebbw-vale", "merthyr", "pontypridd")
SERVICES = ("referrals", "matching", "events", "notifications")
CENTRAL = "central"
CENTRAL_PORT = PORT_BASE + 5
MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))
PROCFILE = Path(__file__).with_name("Procfile")
LAUNCHER = "deploy/local/network.py"  # as the Procfile names it (honcho runs from the repository root)


def vhost_url(name: str) -> str:
    return f"{BROKER.rstrip('/')}/{quote(VHOST_PREFIX + name, safe='')}"


@dataclass(frozen=True)
class SiteRun:
    name: str
    index: int

    def port(self, service: str) -> int:
        return PORT_BASE + 10 * self.index + SERVICES.index(service) + 1

    @property
    def amqp_url(self) -> str:
        return vhost_url(self.name)

    def database_url(self, service: str) -> str:
        return f"sqlite:///{VAR / self.name / f'{service}.db'}"

    def base(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"


def sites(only: str | None = None) -> list[SiteRun]:
    chosen = [SiteRun(name, n) for n, name in enumerate(SITES, start=1)]
    return [s for s in chosen if only in (None, s.name)]


CENTRAL_AMQP = vhost_url(CENTRAL)
CENTRAL_DB = f"sqlite:///{VAR / CENTRAL / 'reporting.db'}"


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


def write_token_configs(issued: dict[str, dict[str, str]]) -> None:
    """Each site's ``PEERLINK_API_TOKENS``, written by ``prepare`` so that ``env`` starts a
    process without importing anything (eight to twenty-six of them start at once)."""
    path = NETWORK / "api-tokens.json"
    path.write_text(json.dumps({site: token_config(site, issued) for site in issued}, indent=2))
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def token_configs() -> dict[str, str]:
    path = NETWORK / "api-tokens.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python {LAUNCHER} prepare` first")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


# Prepare ----------------------------------------------------------------------------------------


def prepare(only: str | None = None) -> None:
    from peerlink import central
    from peerlink.broker_admin import ManagementApi

    management = ManagementApi.for_amqp_url(BROKER)
    if not management.reachable():
        raise SystemExit(
            f"RabbitMQ's management API does not answer at {management.url.split('@')[-1]}: "
            "rabbitmq-plugins enable rabbitmq_management rabbitmq_shovel rabbitmq_shovel_management"
        )
    issued = tokens()
    write_token_configs(issued)
    for site in sites(only):
        if only is None:
            central.link(site.amqp_url, CENTRAL_AMQP, site_management=management, central_management=management)
        else:
            # Alone, the site keeps its events in its queue for the central office, as it would
            # through a cut link; the next whole-network run links it again and they all go.
            central.prepare_site(site.amqp_url, management)
            central.unlink(site.amqp_url, management)
        (VAR / site.name).mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            definition(service).migrations.upgrade(site.database_url(service))
    if only is None:
        (VAR / CENTRAL).mkdir(parents=True, exist_ok=True)
        definition("reporting").migrations.upgrade(CENTRAL_DB)
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


def process_environment(site: str, service: str) -> dict[str, str]:
    """What the Procfile's ``<site>-<service>-*`` processes run with."""
    configs = token_configs()
    if site == CENTRAL:
        return {
            "PEERLINK_SITE": CENTRAL,
            "PEERLINK_DATABASE_URL": CENTRAL_DB,
            "PEERLINK_AMQP_URL": CENTRAL_AMQP,
            "PEERLINK_API_TOKENS": configs[CENTRAL],
            "PEERLINK_PORT": str(CENTRAL_PORT),
        }
    run = next(s for s in sites() if s.name == site)
    return site_environment(
        site,
        database_url=run.database_url(service),
        amqp_url=run.amqp_url,
        tokens=configs[site],
        port=run.port(service),
        smtp_url=f"smtp://127.0.0.1:{MAIL_PORT}",
    )


def procfile() -> str:
    """What ``deploy/local/Procfile`` says: a line per process, its environment left to ``env``
    (tokens, ports and paths are this machine's, so they are not written in the file)."""
    lines = [
        "# make run: every process of the local network, started by honcho (deploy/local/run-network).",
        "# `network.py env SITE SERVICE --` runs the command in that site's environment (database,",
        "# vhost, port, tokens); `make run SITE=merthyr` starts merthyr's lines, mail and activity.",
        "# Kept as deploy/local/network.py's procfile() says (tests/test_make_run.py).",
    ]
    services = [(site, service) for site in SITES for service in SERVICES] + [(CENTRAL, "reporting")]
    for site, service in services:
        wrapper = f"python {LAUNCHER} env {site} {service} -- peerlink-{service}"
        lines.append(f"{site}-{service}-api: {wrapper} serve --threads 4")
        lines.append(f"{site}-{service}-work: {wrapper} work")
    lines.append("mail: python -m aiosmtpd -n -l 127.0.0.1:${MAIL_PORT:-8025}")
    lines.append(f"activity: python {LAUNCHER} activity")
    return "\n".join(lines) + "\n"


def processes(only: str | None = None) -> list[str]:
    """The Procfile's processes that run: everything, or one site's with mail and activity."""
    names = [line.split(":", 1)[0] for line in procfile().splitlines() if line and not line.startswith("#")]
    if only is None:
        return names
    return [n for n in names if n.startswith(f"{only}-") or n in ("mail", "activity")]


def run_in_environment(site: str, service: str, command: list[str]) -> None:
    """Replace this process with ``command``, run in the service's environment at the site."""
    environment = {**os.environ, **process_environment(site, service)}
    os.execvpe(command[0], command, environment)  # noqa: S606 - the Procfile's own commands


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
    print(f"\nTokens are development tokens kept in {NETWORK / 'tokens.json'}.\n", flush=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "prepare"
    only = argv[argv.index("--site") + 1] if "--site" in argv else ONLY_SITE
    if only is not None and only not in SITES:
        print(f"unknown site {only!r}; the local network has {', '.join(SITES)}", file=sys.stderr)
        return 2
    if command == "prepare":
        prepare(only)
        return 0
    if command == "processes":
        print(" ".join(processes(only)))
        return 0
    if command == "env" and len(argv) > 5 and argv[4] == "--":
        site, service = argv[2], argv[3]
        if site not in (*SITES, CENTRAL) or service not in (*SERVICES, "reporting"):
            print(f"unknown site or service: {site} {service}", file=sys.stderr)
            return 2
        run_in_environment(site, service, argv[5:])
    if command == "activity":
        sys.path.insert(0, str(Path(__file__).parent))
        from activity import run

        return run([s.name for s in sites(only)], tokens(), {s.name: s for s in sites(only)})
    print(
        f"usage: {argv[0]} prepare|processes|activity [--site SITE] | env SITE SERVICE -- COMMAND...",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
