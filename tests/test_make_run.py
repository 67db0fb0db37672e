"""``make run``, as a developer runs it: the launcher prepares the network (vhosts, links,
migrations, tokens), every line of ``deploy/local/Procfile`` is a real command, and one site's
processes start under honcho, answer ``/health/ready`` and stop cleanly.

Each test network is a throwaway: its own ``PEERLINK_VAR_DIR``, vhosts under a prefix of its own
and ports outside the ones ``make run`` uses (and outside the kernel's ephemeral range, where
other tests' clients and servers take theirs), so it can run beside a developer's own network.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
import pytest

from peerlink import central
from peerlink.broker_admin import ManagementApi
from peerlink.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local"
SERVICES_AT_A_SITE = ("referrals", "matching", "events", "notifications")


def launcher() -> Any:
    """deploy/local/network.py as a module (its settings are the environment's: only the
    environment-independent parts are used in-process; the rest runs as make run runs it)."""
    spec = importlib.util.spec_from_file_location("local_network", LOCAL / "network.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def procfile_lines() -> dict[str, list[str]]:
    lines = {}
    for line in (LOCAL / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            lines[name] = shlex.split(command)
    return lines


# The Procfile -------------------------------------------------------------------------------------


def test_the_checked_in_procfile_is_what_the_launcher_says_and_runs_every_site_and_the_central_office():
    network = launcher()
    assert (LOCAL / "Procfile").read_text() == network.procfile(), (
        "deploy/local/Procfile differs from network.py's procfile(): write procfile() into it"
    )
    expected = [
        f"{site}-{service}-{role}" for site in network.SITES for service in network.SERVICES for role in ("api", "work")
    ]
    expected += ["central-reporting-api", "central-reporting-work", "mail", "activity"]
    assert list(procfile_lines()) == expected
    assert network.processes("merthyr") == [n for n in expected if n.startswith("merthyr-")] + ["mail", "activity"]


def test_make_run_runs_the_launcher_for_the_whole_network_or_one_site():
    def recipe(*args: str) -> list[str]:
        # -o: the virtualenv counts as installed, so only the run recipe is printed (-n runs nothing).
        # Under `make test` this make is a sub-make: without MAKELEVEL and MAKEFLAGS from the outer one
        # it prints only the recipe (no "Entering directory" lines, no inherited flags).
        outer_make = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
        environment = {key: value for key, value in os.environ.items() if key not in outer_make}
        done = subprocess.run(
            ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "run", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        return [line for line in done.stdout.splitlines() if line.strip()]

    assert recipe() == ["deploy/local/run-network "]
    assert recipe("SITE=merthyr") == ["deploy/local/run-network merthyr"]


def console_script(service: str) -> click.Group:
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]
    module, _, attribute = project["scripts"][f"peerlink-{service}"].partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


def parse_with_click(cli: click.Group, argv: list[str]) -> click.Command:
    """Parse ``argv`` as the console script would, running nothing (a wrong subcommand, option or
    value raises ``click.UsageError`` or ``click.BadParameter``)."""
    name, *rest = argv
    context = click.Context(cli, info_name=cli.name)
    command = cli.get_command(context, name)
    if command is None:
        raise click.UsageError(f"no such command {name!r}")
    command.make_context(name, rest, parent=context)
    return command


def test_every_procfile_command_is_a_real_command_of_its_service():
    network = launcher()
    checked = set()
    for name, argv in procfile_lines().items():
        if name == "mail":
            from aiosmtpd.main import parseargs

            assert argv[:3] == ["python", "-m", "aiosmtpd"], argv
            for environment, port in (({}, 8025), ({"MAIL_PORT": "2525"}, 2525)):  # as honcho's shell reads it
                _, options = parseargs(as_the_shell_reads(argv[3:], environment))
                assert (options.host, options.port) == ("127.0.0.1", port)
            continue
        assert argv[:2] == ["python", "deploy/local/network.py"], argv
        if name == "activity":
            assert argv[2:] == ["activity"]
            continue
        # <site>-<service>-<api|work>: the service's own command, in the site's environment.
        site, service, role = name.rsplit("-", 2)
        wrapper, command = argv[2 : argv.index("--")], argv[argv.index("--") + 1 :]
        assert wrapper == ["env", site, service], argv
        assert site in (*network.SITES, "central") and command[0] == f"peerlink-{service}", argv
        parsed = parse_with_click(console_script(service), command[1:])
        assert parsed.name == {"api": "serve", "work": "work"}[role], argv
        checked.add(service)
    assert checked == {*SERVICES_AT_A_SITE, "reporting"}


def as_the_shell_reads(words: list[str], environment: dict[str, str]) -> list[str]:
    done = subprocess.run(
        ["sh", "-c", "printf '%s\\n' " + " ".join(words)], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def test_a_wrong_procfile_command_is_refused_by_the_check():
    cli = console_script("referrals")
    for wrong in (["serve", "--threds", "4"], ["serve", "--threads", "four"], ["wrok"], ["work", "extra"]):
        with pytest.raises(click.UsageError):
            parse_with_click(cli, wrong)


# Preparing and running ------------------------------------------------------------------------------


def free_port_block(size: int) -> int:
    """A base whose next ``size`` ports are free, below the ephemeral range (32768 and up)."""
    for _ in range(200):
        base = random.randrange(20000, 32700 - size, 100)
        if all(_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no free block of ports below 32768")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class LocalNetwork:
    env: dict[str, str]
    var: Path
    prefix: str
    port_base: int
    broker_url: str
    management: ManagementApi

    def vhost_url(self, name: str) -> str:
        return f"{self.broker_url.rstrip('/')}/{self.prefix}{name}"

    def port(self, site_index: int, service: str) -> int:
        return self.port_base + 10 * site_index + SERVICES_AT_A_SITE.index(service) + 1

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, str(LOCAL / "network.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done


@pytest.fixture(scope="module")
def local_network(broker, tmp_path_factory):
    """``make run``'s preparation of the whole network, once, in a throwaway setting."""
    var = tmp_path_factory.mktemp("var")
    prefix = f"test-run-{uuid.uuid4().hex[:6]}-"
    port_base = free_port_block(100)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PEERLINK_", "MAIL_PORT"))}
    environment.update(
        PEERLINK_VAR_DIR=str(var),
        PEERLINK_BROKER_URL=broker.root_url,
        PEERLINK_LOCAL_VHOST_PREFIX=prefix,
        PEERLINK_LOCAL_PORT_BASE=str(port_base),
        MAIL_PORT=str(port_base + 99),
    )
    management = ManagementApi(broker.management_url)
    network = LocalNetwork(environment, var, prefix, port_base, broker.root_url, management)
    started = time.monotonic()
    network.prepared = network.run("prepare")  # type: ignore[attr-defined]
    network.prepare_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    try:
        yield network
    finally:
        with management.client() as client:
            for vhost in client.get("/api/vhosts").json():
                if vhost["name"].startswith(prefix):
                    management.delete_vhost(vhost["name"])


def test_make_run_prepares_three_linked_sites_and_the_central_office(local_network):
    network = launcher()
    printed = local_network.prepared.stdout
    for index, site in enumerate(network.SITES, start=1):
        status = central.status(local_network.vhost_url(site), local_network.management)
        assert status.configured, f"{site} is not linked to the central office"
        assert status.waiting is not None, f"{site} has no queue for the central office"
        for service in SERVICES_AT_A_SITE:
            database = f"sqlite:///{local_network.var / site / f'{service}.db'}"
            assert network.definition(service).migrations.is_current(database), (site, service)
        assert f"http://127.0.0.1:{local_network.port(index, 'referrals')}/self-referral" in printed
    reporting = f"sqlite:///{local_network.var / 'central' / 'reporting.db'}"
    assert network.definition("reporting").migrations.is_current(reporting)
    assert f"http://127.0.0.1:{local_network.port_base + 5}/dashboard" in printed
    for secret in ("tokens.json", "api-tokens.json"):
        assert (local_network.var / "network" / secret).stat().st_mode & 0o077 == 0, f"{secret} is readable by others"
    print(f"make run's preparation (3 sites and the central office, fresh): {local_network.prepare_seconds:.1f}s")


def test_make_run_for_one_site_unlinks_it_starts_its_processes_and_stops_them_cleanly(local_network, tmp_path):
    """``make run SITE=merthyr`` after a whole-network run: merthyr alone, its events kept at the site."""
    log_path = tmp_path / "honcho.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        honcho = subprocess.Popen(
            [str(LOCAL / "run-network"), "merthyr"],
            env=local_network.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ports = {service: local_network.port(2, service) for service in SERVICES_AT_A_SITE}

        def every_service_ready() -> bool:
            assert honcho.poll() is None, f"make run stopped by itself:\n{log_path.read_text()[-4000:]}"
            return all(_ready(port) for port in ports.values())

        wait_until(every_service_ready, timeout=120, interval=0.5, what="merthyr's four services to be ready")
        ready_after = time.monotonic() - started
        assert _listening(local_network.port_base + 99), "the mail server does not listen"

        # Alone, merthyr is not linked (its events wait at the site); the other sites still are.
        assert not central.status(local_network.vhost_url("merthyr"), local_network.management).configured
        assert central.status(local_network.vhost_url("pontypridd"), local_network.management).configured
    finally:
        stopping = time.monotonic()
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=60)
        finally:
            if honcho.poll() is None:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait()
    stopped_after = time.monotonic() - stopping
    output = log_path.read_text()
    names = launcher().processes("merthyr")
    for name in names:
        assert re.search(rf"\| {re.escape(name)}\.1 started", output), f"{name} did not start"
        assert re.search(rf"\| {re.escape(name)}\.1 stopped", output), f"{name} did not stop"
    before_the_signal = output.split("SIGTERM received")[0]
    assert " stopped (rc=" not in before_the_signal, f"a process stopped on its own:\n{before_the_signal[-4000:]}"
    # Each worker finished what it held: it said so, without being killed.
    for service in SERVICES_AT_A_SITE:
        assert re.search(rf"merthyr-{service}-work\.1 +\| .*worker stopped", output), f"{service}'s worker"
        assert f"sending SIGKILL to merthyr-{service}-work" not in output
    assert not any(_listening(port) for port in ports.values()), "a service still listens after make run stopped"
    print(
        f"make run SITE=merthyr: {len(names)} processes, every service ready after {ready_after:.1f}s, "
        f"all stopped {stopped_after:.1f}s after SIGTERM"
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
