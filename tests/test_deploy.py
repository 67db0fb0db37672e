"""Deployment, one service at a time: the images, the compose files, the broker's definitions and
the Kubernetes manifests, checked here without a Docker engine or kubectl (this machine has
neither).

What cannot be run is checked against what it runs: each image's ENTRYPOINT, CMD and HEALTHCHECK
are run as the container would (same environment, an empty working directory, a separate volume
directory) against the service's real console script; every command in the compose files and
manifests is parsed by the service's own CLI; the RabbitMQ definitions are loaded into the real
broker and the services' real relay and consumer run with their least-privilege users (and are
refused what they must not do); the Kubernetes overlays are rendered (the kustomize features they
use) and validated against the Kubernetes API schemas.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import amqp
import click
import pytest
import yaml

from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect
from peerlink.broker_admin import ManagementApi
from peerlink.consumer import Consumer
from peerlink.contracts import CONTACT_RECORDED, MATCH_CONFIRMED, REFERRAL_RECEIVED, EventType
from peerlink.db import create_engine
from peerlink.outbox import Producer, UnitOfWork
from peerlink.parking import list_parked, replay_parked
from peerlink.relay import Relay
from peerlink.tables import outbox
from peerlink.testing import (
    count_rows,
    free_port,
    make_envelope,
    running,
    sample_data,
    wait_for_consumer,
    wait_until,
)
from peerlink.topology import EXCHANGE_ARGUMENTS, ConsumerQueues, MissingTopology, declare_exchanges

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SERVICES = ("referrals", "matching", "events", "notifications", "reporting")
SITE_SERVICES = ("referrals", "matching", "events", "notifications")
SITES = ("ebbw-vale", "merthyr", "pontypridd", "forest-of-dean")
EXCHANGES = ("peerlink.events", "peerlink.site-only", "peerlink.private")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - in a container, serve must listen beyond its loopback
TMP = "/tmp"  # noqa: S108 - the containers' tmpfs, not a file of ours


def _load_definitions_module() -> Any:
    spec = importlib.util.spec_from_file_location("peerlink_deploy_definitions", DEPLOY / "rabbitmq" / "definitions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


definitions = _load_definitions_module()


def definition(service: str) -> Any:
    return importlib.import_module(f"{service}.app").DEFINITION


def console_script(service: str) -> tuple[str, str]:
    """(name, "module:function") of the service's one console script, from its pyproject.toml."""
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]
    ((name, target),) = project["scripts"].items()
    return name, target


def service_cli(service: str) -> click.Group:
    module, _, attribute = console_script(service)[1].partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


def parse_command(cli: click.Command, argv: list[str]) -> click.Context:
    """Parse ``argv`` as the console script would, running nothing; an unknown command, option or
    extra argument raises ``click.UsageError``."""
    command, args, ctx = cli, list(argv), click.Context(cli, info_name=cli.name or "cli")
    while isinstance(command, click.Group):
        if not args:
            raise click.UsageError(f"{ctx.info_name}: a command is missing")
        name, *args = args
        found = command.get_command(ctx, name)
        if found is None:
            raise click.UsageError(f"{ctx.info_name}: no such command {name!r}")
        command, ctx = found, click.Context(found, info_name=name, parent=ctx)
    return command.make_context(ctx.info_name, args, parent=ctx.parent)


# --- Dockerfiles ---------------------------------------------------------------------------------


def dockerfile(service: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in (ROOT / "services" / service / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, rest = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def instruction(service: str, keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile(service) if kw == keyword]


def image_env(service: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in instruction(service, "ENV"):
        for item in shlex.split(rest):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def healthcheck(service: str) -> list[str]:
    (rest,) = instruction(service, "HEALTHCHECK")
    options, _, command = rest.partition(" CMD ")
    assert "--interval=" in options and "--timeout=" in options, options
    return json.loads(command)  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES)
def test_each_image_runs_its_services_console_script_as_an_unprivileged_user(service):
    script, _ = console_script(service)
    assert json.loads(instruction(service, "ENTRYPOINT")[-1]) == [script]
    cmd = json.loads(instruction(service, "CMD")[-1])
    assert cmd == ["serve", "--host", ALL_INTERFACES]
    parse_command(service_cli(service), cmd)  # a real subcommand with real options
    # Numeric (Kubernetes' runAsNonRoot can only check a number), not root.
    (user,) = instruction(service, "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, user
    # Small: python:3.11-slim, wheels built in a stage of their own, the image installs from them.
    stages = instruction(service, "FROM")
    assert len(stages) == 2 and stages[0].endswith(" AS wheels"), stages
    assert instruction(service, "ARG") == ["PYTHON_IMAGE=python:3.11-slim"]
    assert all(s.split()[0] == "${PYTHON_IMAGE}" for s in stages)
    assert sorted(instruction(service, "COPY")) == sorted(
        ["shared/ shared/", f"services/{service}/ services/{service}/"]
    )
    assert any("--mount=type=bind,from=wheels" in r and "--no-index" in r for r in instruction(service, "RUN"))
    # It writes only into its volume, and serves on the service's own port.
    env = image_env(service)
    assert env["PEERLINK_VAR_DIR"] == "/var/lib/peerlink"
    assert instruction(service, "VOLUME") == ['["/var/lib/peerlink"]']
    assert instruction(service, "WORKDIR")[-1] == "/var/lib/peerlink"
    assert int(env["PEERLINK_PORT"]) == definition(service).default_port
    assert instruction(service, "EXPOSE") == [env["PEERLINK_PORT"]]
    check = healthcheck(service)
    assert check[:2] == ["python", "-c"] and "/health/live" in check[2] and "127.0.0.1" in check[2]


def test_the_dockerfiles_differ_only_by_service_and_port():
    def normalised(service: str) -> str:
        text = (ROOT / "services" / service / "Dockerfile").read_text()
        return text.replace(service, "<service>").replace(str(definition(service).default_port), "<port>")

    assert len({normalised(s) for s in SERVICES}) == 1


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rules, as far as this file uses them: the last pattern that matches
    the path or one of its parent directories decides; ``!`` re-includes; ``**`` is any depth."""

    def regex(pattern: str) -> re.Pattern[str]:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                out, i = out + pattern[i : end + 1], end + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return re.compile(out + "$")

    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for raw in patterns:
        negate = raw.startswith("!")
        if any(regex(raw.lstrip("!").strip("/")).match(p) for p in prefixes):
            verdict = not negate
    return verdict


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_dockerignore_matcher_follows_dockers_rules():
    patterns = ["**/__pycache__", "**/tests", "*.env", "!keep.env"]
    assert _ignored("services/a/a/__pycache__/x.pyc", patterns)
    assert _ignored("shared/tests/test_x.py", patterns)
    assert _ignored("x.env", patterns) and not _ignored("keep.env", patterns)
    assert not _ignored("services/a/a/app.py", patterns)


@pytest.mark.parametrize("service", SERVICES)
def test_the_build_context_gives_the_image_every_file_its_package_needs_and_nothing_local(service):
    patterns = _dockerignore()
    for folder, package in ((ROOT / "shared", "peerlink"), (ROOT / "services" / service, service)):
        project = tomllib.loads((folder / "pyproject.toml").read_text())
        data_globs = project["tool"]["setuptools"].get("package-data", {}).get(package, [])
        assert not _ignored(str((folder / "pyproject.toml").relative_to(ROOT)), patterns)
        for path in (folder / package).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            inside = path.relative_to(folder / package).as_posix()
            if path.is_dir() or "__pycache__" in relative or path.suffix == ".pyc":
                assert _ignored(relative, patterns) or path.is_dir(), relative
                continue
            # Every file of the package reaches the build, and the wheel takes it (a .py file as
            # a module, anything else only through package-data): else the image would lack it.
            assert not _ignored(relative, patterns), f"{relative} is kept out of the image"
            assert path.suffix == ".py" or any(Path(inside).match(g) for g in data_globs), (
                f"{relative} is not in {package}'s package-data: the image's wheel would not have it"
            )
        for local in ("tests/test_x.py", f"{package}.egg-info/PKG-INFO", "var/x/y.db", "build/lib/x.py"):
            assert _ignored(f"{folder.relative_to(ROOT).as_posix()}/{local}", patterns), local
    for secret in (".env", "deploy/compose/.env", "deploy/compose/site.env", ".venv/bin/python", ".git/config"):
        assert _ignored(secret, patterns), secret


def test_each_image_serves_migrates_and_passes_its_healthcheck_as_the_container_would(tmp_path, amqp_url):
    """ENTRYPOINT + migrate, then ENTRYPOINT + CMD, with the image's environment (its volume
    directory a temporary one, HOME absent) and an empty working directory; the image's own
    HEALTHCHECK and compose's readiness check then pass; nothing is written outside the volume."""
    compose = compose_file("site")
    ready_check = compose["services"]["referrals-api"]["healthcheck"]["test"][1:]
    runs: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        workdir, volume = tmp_path / service / "workdir", tmp_path / service / "volume"
        workdir.mkdir(parents=True)
        env = {
            **image_env(service),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": "/nonexistent",
            "PEERLINK_SITE": "ebbw-vale",
            "PEERLINK_VAR_DIR": str(volume),
            "PEERLINK_PORT": str(free_port()),
            "PEERLINK_AMQP_URL": amqp_url,
        }
        entrypoint = json.loads(instruction(service, "ENTRYPOINT")[-1])
        runs[service] = {"env": env, "workdir": workdir, "volume": volume, "entrypoint": entrypoint}

    def run(service: str, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        r = runs[service]
        return subprocess.Popen(argv, env=r["env"], cwd=r["workdir"], **kwargs)

    def python(argv: list[str]) -> list[str]:
        return [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]

    # `migrate` as the container runs it, for one image (the Dockerfiles are the same but for the
    # service: see above); the other databases are brought up to date in this process, to save time.
    migrate = run(
        "referrals", [*runs["referrals"]["entrypoint"], "migrate"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    for service in SERVICES[1:]:
        volume = runs[service]["volume"] / "ebbw-vale"
        volume.mkdir(parents=True)
        definition(service).migrations.upgrade(f"sqlite:///{volume / f'{service}.db'}")
    output, _ = migrate.communicate(timeout=60)
    assert migrate.returncode == 0, f"referrals migrate failed:\n{output.decode(errors='replace')[-3000:]}"
    # Before serve starts, the healthcheck fails (it can tell).
    assert run("referrals", python(healthcheck("referrals")), stderr=subprocess.DEVNULL).wait(timeout=30) != 0
    cmd = json.loads(instruction("referrals", "CMD")[-1])
    logs = {s: (tmp_path / f"{s}-serve.log").open("wb") for s in SERVICES}
    servers = {s: run(s, [*runs[s]["entrypoint"], *cmd], stdout=logs[s], stderr=subprocess.STDOUT) for s in SERVICES}
    try:
        for service in SERVICES:

            def passes(service: str = service, argv: list[str] | None = None) -> bool:
                argv = argv or python(healthcheck(service))
                log = (tmp_path / f"{service}-serve.log").read_text(errors="replace")
                assert servers[service].poll() is None, f"{service} serve exited:\n{log[-3000:]}"
                return run(service, argv, stderr=subprocess.DEVNULL).wait(timeout=30) == 0

            wait_until(passes, timeout=60, interval=0.3, what=f"{service}'s HEALTHCHECK")
            assert passes(argv=python(ready_check)), f"{service}: compose's readiness check fails"
    finally:
        for process in servers.values():
            process.terminate()
        for process in servers.values():
            process.wait(timeout=30)
        for log in logs.values():
            log.close()
    for service, r in runs.items():
        assert list(r["workdir"].iterdir()) == [], f"{service} wrote outside its volume"
        assert (r["volume"] / "ebbw-vale" / f"{service}.db").is_file()


# --- compose -------------------------------------------------------------------------------------


def compose_file(name: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose" / f"{name}.yaml").read_text())  # type: ignore[no-any-return]


def env_example(name: str) -> dict[str, str]:
    found = {}
    for line in (DEPLOY / "compose" / f"{name}.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        found = env.get(name, "")
        if operator and operator.endswith("?") and not found:
            raise AssertionError(f"{name} is required: {argument}")
        return found or (argument if operator and operator.endswith("-") else "")

    return VARIABLE.sub(one, value).replace("$$", "$")


def peerlink_service_of(definition_: dict[str, Any]) -> str | None:
    dockerfile_path = (definition_.get("build") or {}).get("dockerfile", "")
    found = re.fullmatch(r"services/([a-z]+)/Dockerfile", dockerfile_path)
    return found.group(1) if found else None


COMPOSE = {"site": SITE_SERVICES, "central": ("reporting",)}


@pytest.mark.parametrize("name", sorted(COMPOSE))
def test_every_command_in_the_compose_file_is_a_real_subcommand_of_its_image(name):
    compose = compose_file(name)
    env = env_example(name)
    services = compose["services"]
    commands = 0
    for key, spec in services.items():
        service = peerlink_service_of(spec)
        if service is None:
            continue
        image = interpolate(spec["image"], env)
        assert image.endswith(f"/{service}:{env.get('PEERLINK_VERSION', 'latest')}"), (key, image)
        assert (
            spec["build"]["context"] == "../.."
            and (DEPLOY / "compose" / "../.." / spec["build"]["dockerfile"]).is_file()
        )
        if "entrypoint" in spec:  # the link one-shot: a shell script around `peerlink central link`
            continue
        parse_command(service_cli(service), interpolate(spec["command"], env))
        commands += 1
    # serve, work and migrate for every service of this deployment, each its own container.
    for service in COMPOSE[name]:
        assert interpolate(services[f"{service}-migrate"]["command"], env) == ["migrate"]
        assert interpolate(services[f"{service}-api"]["command"], env)[0] == "serve"
        assert ALL_INTERFACES in services[f"{service}-api"]["command"]
        assert interpolate(services[f"{service}-worker"]["command"], env) == ["work"]
    assert commands == 3 * len(COMPOSE[name])


@pytest.mark.parametrize("name", sorted(COMPOSE))
def test_the_compose_file_starts_things_in_order_with_healthchecks_and_hardened_containers(name):
    compose = compose_file(name)
    services = compose["services"]
    for key, spec in services.items():
        for dependency, condition in (spec.get("depends_on") or {}).items():
            assert dependency in services, (key, dependency)
            expected = (
                "service_completed_successfully"
                if dependency.endswith(("-migrate", "-definitions"))
                else ("service_healthy")
            )
            assert condition == {"condition": expected}, (key, dependency, condition)
            if expected == "service_healthy":
                assert services[dependency]["healthcheck"]["test"][0] == "CMD", dependency
    assert services["rabbitmq"]["depends_on"] == {
        "rabbitmq-definitions": {"condition": "service_completed_successfully"}
    }
    for service in COMPOSE[name]:
        migrate, api, worker = (services[f"{service}-{role}"] for role in ("migrate", "api", "worker"))
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert migrate["restart"] == "no" and migrate["healthcheck"] == {"disable": True}
        for long_running in (api, worker):
            assert long_running["depends_on"][f"{service}-migrate"] == {"condition": "service_completed_successfully"}
            assert long_running["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
            assert long_running["healthcheck"]["test"][0] == "CMD"
            assert long_running["restart"] == "unless-stopped"
        port = definition(service).default_port
        assert api["ports"] == [f"${{PEERLINK_BIND_ADDRESS:-127.0.0.1}}:{port}:{port}"]
        assert "/health/ready" in api["healthcheck"]["test"][3]
        assert worker["healthcheck"]["test"][-1] == service
        for container in (migrate, api, worker):
            assert container["read_only"] is True and container["cap_drop"] == ["ALL"], service
            assert container["tmpfs"] == [TMP] and "no-new-privileges:true" in container["security_opt"]
    for key in ("rabbitmq", "postgres"):
        assert services[key]["healthcheck"]["test"][0] == "CMD"
    assert services["postgres"]["healthcheck"]["test"][1:4] == ["pg_isready", "-h", "127.0.0.1"]


@pytest.mark.parametrize("name", sorted(COMPOSE))
def test_the_compose_file_takes_every_secret_from_the_environment_and_its_example_names_them_all(name):
    compose = compose_file(name)
    example = env_example(name)
    used = {match[0] for match in VARIABLE.findall((DEPLOY / "compose" / f"{name}.yaml").read_text())}
    assert used - set(example) == set(), f"{name}.env.example does not name {sorted(used - set(example))}"
    assert set(example) - used == set(), f"{name}.env.example names unused {sorted(set(example) - used)}"
    for key, spec in compose["services"].items():
        for variable, value in (spec.get("environment") or {}).items():
            value = str(value)
            secret = any(word in variable for word in ("PASSWORD", "TOKENS", "API_KEY", "AMQP_URL", "DATABASE_URL"))
            if secret or "SMTP_URL" in variable:
                assert "${" in value, (
                    f"{key}: {variable} is written in the compose file, not taken from the environment"
                )
            if variable.startswith("PEERLINK_") and peerlink_service_of(spec):
                assert _is_a_setting(variable), f"{key}: no service reads {variable}"


def _is_a_setting(variable: str) -> bool:
    sources = [*(ROOT / "shared" / "peerlink").rglob("*.py"), *(ROOT / "services").glob("*/*/**/*.py")]
    return any(variable in path.read_text() for path in sources if "tests" not in path.parts)


def test_the_broker_loads_the_rendered_definitions_and_the_plugins_the_link_needs():
    conf = dict(
        line.split(" = ", 1)
        for line in (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    for plugin in ("rabbitmq_management", "rabbitmq_shovel", "rabbitmq_shovel_management", "rabbitmq_prometheus"):
        assert plugin in plugins
    for name, mode in (("site", "site"), ("central", "central")):
        services = compose_file(name)["services"]
        env = {**env_example(name), "PEERLINK_SITE": "merthyr"}
        render = interpolate(services["rabbitmq-definitions"]["command"], env)
        assert render[:2] == ["python", "/opt/peerlink-rabbitmq/definitions.py"]
        args = definitions.build_parser().parse_args(render[2:])
        assert args.command == mode and args.admin == "admin"
        assert "../rabbitmq:/opt/peerlink-rabbitmq:ro" in services["rabbitmq-definitions"]["volumes"]
        volume = next(v for v in services["rabbitmq-definitions"]["volumes"] if v.endswith(":/definitions"))
        mounted = next(v for v in services["rabbitmq"]["volumes"] if v.startswith(volume.split(":")[0] + ":"))
        assert Path(mounted.split(":")[1]) / args.out.name == Path(conf["load_definitions"])
        assert args.out.parent == Path("/definitions")
        for mount in services["rabbitmq"]["volumes"]:
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / "compose" / source).is_file(), mount
        # The renderer needs nothing but the standard library (it runs in a bare python image).
        assert services["rabbitmq-definitions"]["image"] == "python:3.11-slim"
        password_variables = {k for k in services["rabbitmq-definitions"]["environment"] if k.endswith("PASSWORD")}
        assert password_variables <= set(env_example(name))
    tree = ast.parse((DEPLOY / "rabbitmq" / "definitions.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"__future__"} <= sys.stdlib_module_names, imported - set(sys.stdlib_module_names)


def test_the_link_one_shot_runs_the_real_link_command_and_does_nothing_without_a_central_office():
    link = compose_file("site")["services"]["link"]
    assert link["entrypoint"] == ["/bin/sh", "-c"]
    script = link["command"][0].replace("$$", "$")
    peerlink_line = next(line.strip() for line in script.splitlines() if "peerlink central link" in line)
    argv = shlex.split(peerlink_line.removeprefix("exec "))
    assert argv[:3] == ["peerlink", "central", "link"]
    from peerlink.admin import main as peerlink_cli

    parse_command(peerlink_cli, argv[1:])
    out = subprocess.run(  # without CENTRAL_AMQP_URL the site runs on its own: success, and says so
        ["/bin/sh", "-c", script],
        env={"PATH": os.environ["PATH"], "PEERLINK_SITE": "merthyr"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0 and "runs on its own" in out.stdout


def test_the_postgres_init_script_gives_each_service_its_own_database_and_role(postgres_server):
    """The init script run against the real PostgreSQL: each role owns its database and cannot
    connect to another service's (roles and databases made here and dropped afterwards)."""
    import psycopg

    server = urlsplit(postgres_server)
    names = [f"dt{uuid.uuid4().hex[:10]}", f"dt{uuid.uuid4().hex[:10]}"]
    with psycopg.connect(postgres_server) as conn:
        admin_user = conn.execute("SELECT current_user").fetchone()[0]

    def connect_as(user: str, database: str) -> Any:
        return psycopg.connect(
            host=server.hostname,
            port=server.port or 5432,
            user=user,
            dbname=database,
            password="x" * 20,
            autocommit=True,
        )

    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": server.hostname or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "PGPASSWORD": server.password or "",
        "POSTGRES_USER": admin_user,
        "PEERLINK_DATABASES": " ".join(names),
        **{f"POSTGRES_{n.upper()}_PASSWORD": "x" * 20 for n in names},
    }
    try:
        done = subprocess.run(
            [str(DEPLOY / "compose" / "postgres-init.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        with connect_as(names[0], names[0]) as conn:
            conn.execute("CREATE TABLE owned_here (id int)")
            assert conn.execute("SELECT current_user").fetchone() == (names[0],)
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            connect_as(names[0], names[1])
        missing = subprocess.run(
            [str(DEPLOY / "compose" / "postgres-init.sh")],
            env={**env, "PEERLINK_DATABASES": "nopassword"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert missing.returncode == 1 and "POSTGRES_NOPASSWORD_PASSWORD is not set" in missing.stderr
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


# --- no secret committed -------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"^(|change-me|guest|password|true|false|\*+|<[^>]*>|\$.*)$", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/\s:@'\"]+):([^@\s'\"]+)@")
ASSIGNED = re.compile(
    # NAME_PASSWORD=…, NAME_TOKENS: … (environment style), or password=… / secret: … (any case).
    r"(?<![{\w])([A-Z0-9_]*(?:PASSWORD|SECRET|API_KEY|TOKEN)S?|(?i:password|secret)s?|(?i:tokens?)(?==))"
    r"[ \t]*[=:][ \t]*[\"']?([^\s#\"')`]*)"
)


def secrets_in(text: str, python: bool = False) -> list[str]:
    found = []
    for match in URL_CREDENTIALS.finditer(text):
        if not PLACEHOLDER.match(match.group(2)):
            found.append(match.group(0))
    if python:  # code: a secret-named variable or argument given a string literal
        for node in ast.walk(ast.parse(text)):
            pairs = []
            if isinstance(node, ast.Assign):
                pairs = [(getattr(t, "id", ""), node.value) for t in node.targets]
            elif isinstance(node, ast.keyword):
                pairs = [(node.arg or "", node.value)]
            for name, value in pairs:
                literal = isinstance(value, ast.Constant) and isinstance(value.value, str)
                if literal and re.search(r"(?i)password|secret|token", name) and not PLACEHOLDER.match(value.value):
                    found.append(f"{name}={value.value}")
        text = ""  # the patterns below are for configuration files and prose
    for match in ASSIGNED.finditer(text):
        name, value = match.groups()
        # site=password,site=password lists: each password a placeholder.
        parts = [item.rpartition("=")[2] for item in value.split(",")]
        if not all(PLACEHOLDER.match(part) for part in parts):
            found.append(f"{name}={value}")
    found += re.findall(r"\b[0-9a-f]{64}\b", text)  # a token's digest, a key
    found += re.findall(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text)
    return found


def test_the_secret_scanner_finds_secrets():
    assert secrets_in("PEERLINK_AMQP_URL=amqp://merthyr-referrals:Zq81xkd@rabbitmq:5672/merthyr")
    assert secrets_in("RABBITMQ_ADMIN_PASSWORD=hunter2hunter2")
    assert secrets_in("RABBITMQ_SHOVEL_PASSWORDS=merthyr=change-me,ebbw-vale=s3cretvalue")
    assert secrets_in("PEERLINK_API_TOKENS=coordinator:merthyr:" + "ab" * 32)
    assert not secrets_in("amqp://shovel-merthyr:<password>@central.example.org:5671/central")
    assert not secrets_in("RABBITMQ_ADMIN_PASSWORD: ${RABBITMQ_ADMIN_PASSWORD:?see site.env.example}")
    assert secrets_in("ADMIN_PASSWORD = 'hunter2hunter2'", python=True)
    assert secrets_in("connect(url, password='hunter2hunter2')", python=True)
    assert not secrets_in("password = env.get('RABBITMQ_ADMIN_PASSWORD', '')", python=True)


def test_no_secret_is_committed_in_the_deployment_files():
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and "local" not in p.relative_to(DEPLOY).parts[:1]]
    files += [ROOT / "services" / s / "Dockerfile" for s in SERVICES]
    files += [ROOT / ".dockerignore", ROOT / "docs" / "operations.md"]
    for path in files:
        if path.suffix in (".pyc",) or "__pycache__" in path.parts:
            continue
        found = secrets_in(path.read_text(), python=path.suffix == ".py")
        assert found == [], f"{path.relative_to(ROOT)} holds what looks like a secret: {found}"
    for name in COMPOSE:
        for key, value in env_example(name).items():
            if "PASSWORD" in key:
                assert all(part.rpartition("=")[2] == "change-me" for part in value.split(",")), key
        assert env_example(name)["PEERLINK_API_TOKENS"] == ""
    assert not (DEPLOY / "compose" / ".env").exists() or "compose/.env" not in _tracked()
    assert not [f for f in _tracked() if f.startswith("deploy/") and f.endswith(".env")]


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


# --- RabbitMQ definitions: least privilege, proved on the real broker ---------------------------


def _passwords() -> dict[str, str]:
    return {f"RABBITMQ_{s.upper()}_PASSWORD": uuid.uuid4().hex for s in SERVICES}


def test_the_renderer_hashes_passwords_as_rabbitmq_does_and_refuses_a_missing_or_weak_one(tmp_path, capsys):
    import base64
    import hashlib

    hashed = definitions.hash_password("correct horse battery", salt=b"\x01\x02\x03\x04")
    raw = base64.b64decode(hashed)
    assert (
        raw[:4] == b"\x01\x02\x03\x04" and raw[4:] == hashlib.sha256(b"\x01\x02\x03\x04correct horse battery").digest()
    )
    assert definitions.hash_password("same") != definitions.hash_password("same")  # salted
    env = _passwords()
    out = tmp_path / "definitions.json"
    assert definitions.main(["site", "--site", "merthyr", "--out", str(out)], env=env) == 0
    rendered = out.read_text()
    assert all(password not in rendered for password in env.values())
    assert {u["name"] for u in json.loads(rendered)["users"]} == {f"merthyr-{s}" for s in SITE_SERVICES}
    capsys.readouterr()
    assert definitions.main(["site", "--site", "merthyr"], env={**env, "RABBITMQ_MATCHING_PASSWORD": ""}) == 2
    assert capsys.readouterr().err.strip() == "definitions: RABBITMQ_MATCHING_PASSWORD is not set"
    assert definitions.main(["site", "--site", "merthyr"], env={**env, "RABBITMQ_EVENTS_PASSWORD": "short"}) == 2
    assert "RABBITMQ_EVENTS_PASSWORD: use at least 16" in capsys.readouterr().err
    assert (
        definitions.main(
            ["central", "--sites", "merthyr,pontypridd"],
            env={**env, "RABBITMQ_SHOVEL_PASSWORDS": f"merthyr={'a' * 20}"},
        )
        == 2
    )
    assert "no password for pontypridd" in capsys.readouterr().err


def _contract_names(tree: ast.Module) -> dict[str, EventType]:
    """The event types a module imports from the contracts, by the name it uses for them."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("peerlink.contracts"):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if isinstance(value, EventType):
                    found[alias.asname or alias.name] = value
    return found


def _callee(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


class _Module:
    """One module of a service's code, read for the event types it emits."""

    def __init__(self, path: Path):
        tree = ast.parse(path.read_text())
        self.names = _contract_names(tree)
        self.functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
        self.calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]

    def named_in(self, node: ast.AST) -> list[EventType]:
        return [self.names[n.id] for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in self.names]

    def types_of(self, argument: ast.Name, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[EventType]:
        """An event type named, or passed as a variable: a parameter, found in the calls of the
        function in this module; a local, among the event types named in the function and in the
        module's functions it calls."""
        if argument.id in self.names:
            return [self.names[argument.id]]
        if argument.id in {a.arg for a in function.args.args}:
            return [t for c in self.calls if _callee(c) == function.name for t in self.named_in(c)]
        called = {_callee(c) for c in ast.walk(function) if isinstance(c, ast.Call)} & set(self.functions)
        return self.named_in(function) + [t for name in called for t in self.named_in(self.functions[name])]

    def emitted(self) -> Iterator[tuple[EventType, bool]]:
        """(event type, whether the call passes ``site_only``) of every call to emit or _emit."""
        for function in self.functions.values():
            for call in ast.walk(function):
                if isinstance(call, ast.Call) and _callee(call) in ("emit", "_emit"):
                    site_only = any(k.arg == "site_only" for k in call.keywords)
                    for argument in (a for a in call.args if isinstance(a, ast.Name)):
                        yield from ((t, site_only) for t in self.types_of(argument, function))


def emitted(service: str) -> dict[str, set[str]]:
    """Per exchange, the aggregates whose events a service's code emits: each event type on its
    exchange, and on ``peerlink.site-only`` too when the call passes ``site_only`` (the outbox
    then sends a pseudonymous event there instead)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "services" / service / service).rglob("*.py"):
        for event_type, site_only in _Module(path).emitted():
            found.setdefault(event_type.exchange, set()).add(event_type.aggregate)
            if site_only and event_type.exchange == "peerlink.events":
                found.setdefault("peerlink.site-only", set()).add(event_type.aggregate)
    return found


def subscribed(service: str) -> dict[str, set[str]]:
    """Per exchange, the aggregates a service's consumer binds (``*.<aggregate>.<verb>``)."""
    from peerlink.topology import site_bindings

    found: dict[str, set[str]] = {}
    for exchange, binding_key in site_bindings(importlib.import_module(f"{service}.handlers").subscriptions.bindings):
        found.setdefault(exchange, set()).add(binding_key.split(".")[1])
    return found


def _as_sets(mapping: Any) -> dict[str, set[str]]:
    return {exchange: set(aggregates) for exchange, aggregates in mapping.items()}


@pytest.mark.parametrize("access", [*definitions.SITE_SERVICES, *definitions.CENTRAL_SERVICES], ids=lambda a: a.name)
def test_each_users_permissions_follow_what_its_service_binds_and_emits(access):
    where = "deploy/rabbitmq/definitions.py (SITE_SERVICES, CENTRAL_SERVICES)"
    bound = subscribed(access.name)
    assert _as_sets(access.binds) == bound, f"{access.name} now binds {bound}: update {where}"
    emits = emitted(access.name)
    assert _as_sets(access.publishes) == emits, f"{access.name} now emits {emits}: update {where}"
    assert importlib.import_module(f"{access.name}.handlers").subscriptions.name == access.name  # <name>.inbox…


def test_each_aggregates_events_are_published_by_one_service_on_the_exchange_its_contract_names():
    """The event catalogue against the definitions: every event type's routing key
    (<site>.<aggregate>.<verb> on its exchange) is some site service's to publish, and no other's."""
    from peerlink.contracts import CATALOGUE

    owners: dict[tuple[str, str], list[str]] = {}
    for access in definitions.SITE_SERVICES:
        for exchange, aggregates in access.publishes.items():
            for aggregate in aggregates:
                owners.setdefault((exchange, aggregate), []).append(access.name)
    for event_type in CATALOGUE:
        assert len(owners.get((event_type.exchange, event_type.aggregate), [])) == 1, event_type.name
    catalogued = {(t.exchange, t.aggregate) for t in CATALOGUE}
    site_only = {("peerlink.events", aggregate) for exchange, aggregate in owners if exchange == "peerlink.site-only"}
    assert {key for key in owners if key[0] != "peerlink.site-only"} | site_only <= catalogued


class Loaded:
    """Rendered definitions loaded into the local broker: a site vhost named after a throwaway
    site slug (so its users are <site>-<service>), and its central office in a second vhost."""

    def __init__(self, broker: Any):
        self.site = f"test-deploy-{uuid.uuid4().hex[:8]}"
        self.central = f"{self.site}-central"
        self.passwords = _passwords()
        self.shovel_password = uuid.uuid4().hex
        self.api = ManagementApi(broker.management_url)
        self.broker = broker
        self.site_document = definitions.site_definitions(self.site, self.passwords)
        self.central_document = definitions.central_definitions(
            [self.site],
            {**self.passwords, "RABBITMQ_SHOVEL_PASSWORDS": f"{self.site}={self.shovel_password}"},
            vhost=self.central,
            user_prefix=f"{self.site}.",
        )

    def users(self) -> list[str]:
        return [u["name"] for d in (self.site_document, self.central_document) for u in d["users"]]

    def load(self) -> None:
        with self.api.client() as client:
            for document in (self.site_document, self.central_document):
                response = client.post("/api/definitions", json=document)
                assert response.status_code in (200, 201, 204), response.text

    def remove(self) -> None:
        with self.api.client() as client:
            for vhost in (self.site, self.central):
                client.delete(f"/api/vhosts/{vhost}")
            for user in self.users():
                client.delete(f"/api/users/{quote(user, safe='')}")

    def url(self, user: str, password: str, vhost: str | None = None, host: str = "127.0.0.1") -> str:
        port = urlsplit(self.broker.root_url).port or 5672
        return f"amqp://{user}:{password}@{host}:{port}/{vhost or self.site}"

    def service_url(self, service: str) -> str:
        if service == "reporting":
            return self.url(
                f"{self.site}.central-reporting", self.passwords["RABBITMQ_REPORTING_PASSWORD"], self.central
            )
        return self.url(f"{self.site}-{service}", self.passwords[f"RABBITMQ_{service.upper()}_PASSWORD"])

    def shovel_url(self) -> str:
        return self.url(f"{self.site}.shovel-{self.site}", self.shovel_password, self.central)

    def admin_url(self, vhost: str | None = None) -> str:
        return self.broker.vhost_url(vhost or self.site)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def loaded(broker) -> Iterator[Loaded]:
    setup = Loaded(broker)
    try:
        setup.load()
        yield setup
    finally:
        setup.remove()


def queue_count(url: str, queue: str) -> int:
    connection = connect(url, name="test-deploy", heartbeat=0)
    try:
        return int(connection.channel().queue_declare(queue, passive=True)[1])
    finally:
        connection.release()


class As:
    """One user's AMQP connection; each attempt on a channel of its own (a refusal closes it)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.connection = amqp.Connection(
            f"{parts.hostname}:{parts.port or 5672}",
            userid=parts.username,
            password=parts.password,
            virtual_host=parts.path[1:],
        )
        self.connection.connect()

    def __enter__(self) -> As:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):  # a refused channel may have taken the connection
            self.connection.close()

    def do(self, action: Any) -> Any:
        channel = self.connection.channel()
        result = action(channel)
        if channel.is_open:
            channel.close()
        return result

    def refused(self, action: Any) -> bool:
        try:
            self.do(action)
        except amqp.exceptions.AccessRefused:
            return True
        return False

    def publish(self, exchange: str, routing_key: str) -> bool:
        def go(channel: amqp.Channel) -> bool:
            user_publish(channel, exchange, routing_key)
            return True

        return bool(self.do(go))


DELAYS = (0.1, 1.0)


def a_routing_key(site: str, aggregate: str) -> str:
    """A real event's routing key of this aggregate at this site."""
    from peerlink.contracts import CATALOGUE

    return next(t for t in CATALOGUE if t.aggregate == aggregate).routing_key(site)


def queue_arguments(loaded: Loaded, queue: str) -> dict[str, Any]:
    with loaded.api.client() as client:
        return client.get(f"/api/queues/{loaded.site}/{quote(queue, safe='')}").json()["arguments"]  # type: ignore[no-any-return]


def declare_consumers(loaded: Loaded) -> None:
    """Each site service's consumer declares its queues as its own user (idempotent). The events
    service's were made by the version before: dead-lettering through the default exchange."""
    with As(loaded.admin_url()) as admin:
        for queue, arguments in ConsumerQueues("events", DELAYS).arguments(dead_letter_exchange="").items():
            admin.do(lambda ch, q=queue, a=arguments: ch.queue_declare(q, durable=True, auto_delete=False, arguments=a))
    for service in SITE_SERVICES:
        subscriptions = importlib.import_module(f"{service}.handlers").subscriptions
        with As(loaded.service_url(service)) as user:
            user.do(lambda ch, s=subscriptions: ConsumerQueues(s.name, DELAYS).declare(ch, s.bindings))


def test_each_site_services_user_can_do_what_its_code_does(loaded):
    """As each service's user, with the rendered definitions: its consumer's declarations (the
    real ConsumerQueues with its real subscriptions: the shared topology checked passively, its
    own exchange, queues and bindings) and its relay's; retrying, parking and replaying through
    its own exchange, a retry dead-lettering back into its inbox after its delay; publishing every
    routing key its code emits; consuming its inbox and parked queue. The events service's queues
    were made by the version before (dead-lettering through the default exchange): they are kept
    as they are and still work, since the broker checks no user's permission when it
    dead-letters. A publish nobody binds lands in peerlink.unrouted without any permission on it."""
    declare_consumers(loaded)
    admin_url = loaded.admin_url()
    assert queue_arguments(loaded, "events.inbox.retry.100ms")["x-dead-letter-exchange"] == ""  # kept
    assert queue_arguments(loaded, "matching.inbox.retry.100ms")["x-dead-letter-exchange"] == "matching.inbox.direct"
    before = {s: queue_count(admin_url, f"{s}.inbox") for s in SITE_SERVICES}
    parked_before = {s: queue_count(admin_url, f"{s}.inbox.parked") for s in SITE_SERVICES}
    for service in SITE_SERVICES:
        queues = ConsumerQueues(service, DELAYS)
        with As(loaded.service_url(service)) as user:
            user.do(declare_exchanges)  # the relay's
            for queue in (queues.retry(1), queues.parked, queues.inbox):  # retry, park, replay
                user.do(lambda ch, q=queue, x=queues.exchange: user_publish(ch, x, q, mandatory=True))
    for service in SITE_SERVICES:  # the replayed one at once, the retried one after its 100 ms
        wait_until(lambda s=service: queue_count(admin_url, f"{s}.inbox") == before[s] + 2, what=f"{service} retried")
        assert queue_count(admin_url, f"{service}.inbox.parked") == parked_before[service] + 1
    unrouted_before = queue_count(admin_url, "peerlink.unrouted")
    access = {a.name: a for a in definitions.SITE_SERVICES}
    for service in SITE_SERVICES:
        with As(loaded.service_url(service)) as user:
            for exchange, aggregates in access[service].publishes.items():
                for aggregate in aggregates:
                    assert user.publish(exchange, a_routing_key(loaded.site, aggregate)), (service, exchange)
            user.do(lambda ch, s=service: ch.basic_get(f"{s}.inbox"))
            user.do(lambda ch, s=service: ch.basic_get(f"{s}.inbox.parked"))
    with As(loaded.service_url("referrals")) as referrals:
        assert referrals.publish("peerlink.private", f"{loaded.site}.contact.bound-by-nobody")
    assert queue_count(admin_url, "peerlink.unrouted") == unrouted_before + 1
    with As(admin_url) as admin:  # what was published here is no event: later tests' consumers must not see it
        for service in SITE_SERVICES:
            for queue in ConsumerQueues(service, DELAYS).queues:
                admin.do(lambda ch, q=queue: ch.queue_purge(q))


def test_each_site_services_user_is_refused_what_its_code_does_not_do(loaded):
    """As each service's user, with the rendered definitions: refused reading peerlink.unrouted
    (which keeps what peerlink.private could not route: personal data); deleting or declaring the
    shared exchanges and the unrouted queue (with the arguments they have or others); publishing
    another service's routing keys, another site's, or to an exchange its code does not emit to;
    publishing through the default exchange (to any queue, its own too) or through another
    service's exchange; binding `#` or an aggregate it does not subscribe to; anything on another
    service's queues (read, declare, purge, delete, bind); the queue held for the central office;
    a new exchange."""
    from peerlink.contracts import CATALOGUE

    declare_consumers(loaded)
    with As(loaded.admin_url()) as admin:  # personal data nobody routes, as in a misconfigured site
        admin.do(lambda ch: user_publish(ch, "peerlink.private", f"{loaded.site}.contact.recorded-by-nobody"))
    access = {a.name: a for a in definitions.SITE_SERVICES}
    aggregates_on = {x: {t.aggregate for t in CATALOGUE if t.exchange == x} for x in EXCHANGES}
    aggregates_on["peerlink.site-only"] = aggregates_on["peerlink.events"]  # the same events, kept at the site
    for service in SITE_SERVICES:
        own = access[service]
        inbox = f"{service}.inbox"
        with As(loaded.service_url(service)) as user:

            def refused(what: str, action: Any, user: As = user, service: str = service) -> None:
                assert user.refused(action), f"{service} may {what}"

            refused("read peerlink.unrouted", lambda ch: ch.basic_get("peerlink.unrouted"))
            refused("consume peerlink.unrouted", lambda ch: ch.basic_consume("peerlink.unrouted", callback=print))
            refused("purge peerlink.unrouted", lambda ch: ch.queue_purge("peerlink.unrouted"))
            refused("delete peerlink.unrouted", lambda ch: ch.queue_delete("peerlink.unrouted"))
            refused("bind peerlink.unrouted", lambda ch: ch.queue_bind("peerlink.unrouted", "peerlink.events", "#"))
            for exchange, arguments in {**EXCHANGE_ARGUMENTS, "peerlink.unrouted": {}}.items():
                kind = "fanout" if exchange == "peerlink.unrouted" else "topic"
                refused(f"delete {exchange}", lambda ch, x=exchange: ch.exchange_delete(x))
                for args in (arguments, {"alternate-exchange": "amq.fanout"}):
                    refused(
                        f"declare {exchange} with {args}",
                        lambda ch, x=exchange, k=kind, a=args: ch.exchange_declare(
                            x, k, durable=True, auto_delete=False, arguments=a
                        ),
                    )
            for exchange, published in own.publishes.items():
                for aggregate in sorted(aggregates_on[exchange] - set(published)):
                    key = a_routing_key(loaded.site, aggregate)
                    refused(f"publish {key} on {exchange}", lambda ch, x=exchange, k=key: user_publish(ch, x, k))
                for aggregate in published:
                    key = a_routing_key("merthyr", aggregate)
                    refused(f"publish {key} on {exchange}", lambda ch, x=exchange, k=key: user_publish(ch, x, k))
            for exchange in set(EXCHANGES) - set(own.publishes):
                refused(f"publish to {exchange}", lambda ch, x=exchange: user_publish(ch, x, f"{loaded.site}.x.y"))
            for exchange, bound in own.binds.items():
                refused(f"bind # on {exchange}", lambda ch, x=exchange, q=inbox: ch.queue_bind(q, x, "#"))
                for aggregate in sorted(aggregates_on[exchange] - set(bound))[:2]:
                    key = f"*.{aggregate}.recorded"
                    refused(f"bind {key}", lambda ch, x=exchange, k=key, q=inbox: ch.queue_bind(q, x, k))
            for exchange in set(EXCHANGES) - set(own.binds):
                refused(f"bind from {exchange}", lambda ch, x=exchange, q=inbox: ch.queue_bind(q, x, "#"))
            refused("publish through the default exchange", lambda ch, q=inbox: user_publish(ch, "", q))
            for other in set(SITE_SERVICES) - {service}:
                theirs = ConsumerQueues(other, DELAYS)
                for queue in (theirs.inbox, theirs.parked, theirs.retry(1)):
                    refused(f"publish to {queue} by default", lambda ch, q=queue: user_publish(ch, "", q))
                    refused(
                        f"publish to {queue} by {other}'s exchange",
                        lambda ch, q=queue, x=theirs.exchange: user_publish(ch, x, q),
                    )
                refused(f"read {theirs.inbox}", lambda ch, q=theirs.inbox: ch.basic_get(q))
                refused(f"read {theirs.parked}", lambda ch, q=theirs.parked: ch.basic_get(q))
                refused(f"declare {other}'s queues", lambda ch, t=theirs: t.declare(ch, []))
                refused(f"purge {theirs.inbox}", lambda ch, q=theirs.inbox: ch.queue_purge(q))
                refused(f"delete {theirs.inbox}", lambda ch, q=theirs.inbox: ch.queue_delete(q))
                refused(f"bind {theirs.inbox}", lambda ch, q=theirs.inbox: ch.queue_bind(q, "peerlink.events", "#"))
                refused(f"delete {other}'s exchange", lambda ch, x=theirs.exchange: ch.exchange_delete(x))
            refused("read peerlink.to-central", lambda ch: ch.basic_get("peerlink.to-central"))
            refused(
                "declare an exchange",
                lambda ch: ch.exchange_declare("test.new", "topic", durable=True, auto_delete=False),
            )


def test_a_service_creates_no_shared_exchange_the_definitions_left_out(broker):
    """Where the definitions were imported without the shared topology, a service's consumer
    creates none of it (it may not) and says what is missing and what to do."""
    bare = Loaded(broker)
    for part in ("exchanges", "queues", "bindings"):
        bare.site_document[part] = []
    try:
        with bare.api.client() as client:
            assert client.post("/api/definitions", json=bare.site_document).status_code in (200, 201, 204)
        with As(bare.service_url("matching")) as matching, pytest.raises(MissingTopology) as refused:
            matching.do(lambda ch: ConsumerQueues("matching", DELAYS).declare(ch, []))
        assert "no peerlink.unrouted, peerlink.events" in str(refused.value)
        assert "import the broker's definitions" in str(refused.value)
        with bare.api.client() as client:
            exchanges = [x["name"] for x in client.get(f"/api/exchanges/{bare.site}").json()]
        assert not [name for name in exchanges if name.startswith("peerlink.")]
    finally:
        bare.remove()


def user_publish(channel: amqp.Channel, exchange: str, routing_key: str, *, mandatory: bool = False) -> None:
    """Publish and wait for the broker's confirm (a refusal closes the channel instead; with
    ``mandatory``, a message no queue takes raises)."""
    channel.confirm_select()
    channel.basic_publish_confirm(
        amqp.Message(b"{}", delivery_mode=2), exchange=exchange, routing_key=routing_key, mandatory=mandatory
    )


def test_the_referrals_relay_and_consumer_run_with_the_referrals_user_alone(loaded, tmp_path):
    """The real relay and consumer of referrals with its least-privilege user: committed events
    reach their exchanges (only peerlink.events waits for the central office), a poison event
    is retried and parked through the consumer's own exchange, and the parked one is listed and
    replayed; the worker's healthcheck (compose and Kubernetes) passes while it consumes, and
    fails for a service whose consumer is not running."""
    from referrals.app import DEFINITION as REFERRALS
    from referrals.handlers import subscriptions

    url = loaded.service_url("referrals")
    database = f"sqlite:///{tmp_path / 'referrals.db'}"
    REFERRALS.migrations.upgrade(database)
    engine = create_engine(database)
    producer = Producer(loaded.site, "referrals")
    waiting_before = queue_count(loaded.admin_url(), "peerlink.to-central")
    with UnitOfWork(engine, producer) as uow:
        uow.emit(REFERRAL_RECEIVED, subject=str(uuid.uuid4()), data=sample_data(REFERRAL_RECEIVED))
        uow.emit(REFERRAL_RECEIVED, subject=str(uuid.uuid4()), data=sample_data(REFERRAL_RECEIVED), site_only=True)
        uow.emit(CONTACT_RECORDED, subject=str(uuid.uuid4()), data=sample_data(CONTACT_RECORDED))
        uow.commit()
    queues = ConsumerQueues("referrals", (0.1,))
    consumer = Consumer(engine, url, subscriptions, producer=producer, retry_delays=(0.1,))
    probe = compose_file("site")["services"]["referrals-worker"]["healthcheck"]["test"][1:]
    try:
        with running(Relay(engine, url, service="referrals"), consumer):
            wait_for_consumer(url, "referrals.inbox")
            wait_until(lambda: count_rows(engine, outbox, outbox.c.published_at.is_(None)) == 0, what="sent")
            # matching's event for a referral this site does not know: retried, then parked.
            ghost = make_envelope(MATCH_CONFIRMED, site=loaded.site, service="matching")
            publish_as(loaded.service_url("matching"), MATCH_CONFIRMED, ghost)
            (parked,) = wait_until(
                lambda: [p for p in list_parked(url, queues) if p.message_id == ghost.id], what="parked"
            )
            assert "No referral" in parked.reason
            assert [p.message_id for p in replay_parked(url, queues, message_ids={ghost.id})] == [ghost.id]
            wait_until(lambda: [p for p in list_parked(url, queues) if p.message_id == ghost.id], what="parked again")
            worker_env = {"PATH": os.environ["PATH"], "PEERLINK_AMQP_URL": url}
            assert _run_probe(probe, worker_env) == 0
            assert (
                _run_probe(
                    [*probe[:-1], "matching"], {**worker_env, "PEERLINK_AMQP_URL": loaded.service_url("matching")}
                )
                != 0
            )
    finally:
        engine.dispose()
    # Only peerlink.events waits for the central office (referral.received and matching's event),
    # never the site-only event nor the private one.
    assert queue_count(loaded.admin_url(), "peerlink.to-central") == waiting_before + 2


def publish_as(url: str, event_type: EventType, envelope: Any) -> None:
    connection = connect(url, name="test-deploy-publisher")
    try:
        results = ConfirmingPublisher(connection).publish(
            [
                OutgoingMessage(
                    exchange=event_type.exchange,
                    routing_key=event_type.routing_key(envelope.site),
                    body=envelope.to_json(),
                    message_id=envelope.id,
                    type=envelope.type,
                )
            ]
        )
        assert all(results)
    finally:
        connection.release()


def _run_probe(argv: list[str], env: dict[str, str]) -> int:
    command = [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]
    return subprocess.run(command, env=env, capture_output=True, timeout=30, check=False).returncode


def test_the_site_links_to_the_central_office_with_a_shovel_user_that_may_only_deliver_its_own_sites_events(
    loaded,
):
    """The compose file's link one-shot, run for real (the admin URL as the operator's): the
    shovel delivers every event waiting at the site, with the per-site central user; that user
    may not read, declare, publish to another exchange or publish another site's events; the
    reporting user reads its inbox at the central office and may publish nothing."""
    central_reporting = loaded.service_url("reporting")
    subscriptions = importlib.import_module("reporting.handlers").subscriptions
    with As(central_reporting) as reporting:
        reporting.do(lambda ch: ConsumerQueues("reporting", (0.1,)).declare(ch, subscriptions.bindings))
        for exchange in EXCHANGES:
            assert reporting.refused(lambda ch, x=exchange: user_publish(ch, x, f"{loaded.site}.x.y")), exchange
    with As(loaded.service_url("referrals")) as referrals:
        for _ in range(3):
            assert referrals.publish("peerlink.events", f"{loaded.site}.referral.received")
        assert referrals.publish("peerlink.private", f"{loaded.site}.contact.recorded")
        assert referrals.publish("peerlink.site-only", f"{loaded.site}.referral.received")
    waiting = queue_count(loaded.admin_url(), "peerlink.to-central")
    assert waiting >= 3

    def at_central() -> int:  # what reached the central peerlink.events: routed to reporting, or kept unrouted
        url = loaded.admin_url(loaded.central)
        return queue_count(url, "reporting.inbox") + queue_count(url, "peerlink.unrouted")

    central_before = at_central()

    script = compose_file("site")["services"]["link"]["command"][0].replace("$$", "$")
    admin = urlsplit(loaded.broker.management_url)
    done = subprocess.run(
        ["/bin/sh", "-c", script.replace("@rabbitmq:", "@localhost:")],
        env={
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PEERLINK_SITE": loaded.site,
            "CENTRAL_AMQP_URL": loaded.shovel_url(),
            "RABBITMQ_ADMIN_USER": admin.username,
            "RABBITMQ_ADMIN_PASSWORD": admin.password,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with loaded.api.client() as client:
        shovels = lambda: client.get(f"/api/shovels/{loaded.site}").json()  # noqa: E731
        wait_until(lambda: shovels() and shovels()[0].get("state") == "running", timeout=20, what="the shovel running")
    wait_until(
        lambda: at_central() == central_before + waiting,
        timeout=20,
        what="every waiting event at the central office",
    )
    assert queue_count(loaded.admin_url(), "peerlink.to-central") == 0
    with As(loaded.shovel_url()) as shovel:
        assert shovel.publish("peerlink.events", f"{loaded.site}.referral.received")  # its own site's: yes
        assert shovel.refused(lambda ch: user_publish(ch, "peerlink.events", "merthyr.referral.received"))
        assert shovel.refused(lambda ch: user_publish(ch, "peerlink.site-only", f"{loaded.site}.referral.received"))
        assert shovel.refused(lambda ch: user_publish(ch, "peerlink.private", f"{loaded.site}.contact.recorded"))
        assert shovel.refused(lambda ch: user_publish(ch, "", "reporting.inbox"))
        assert shovel.refused(lambda ch: ch.basic_get("reporting.inbox"))
        assert shovel.refused(lambda ch: ch.queue_declare("test.shovel", durable=True, auto_delete=False))


# --- Kubernetes ----------------------------------------------------------------------------------

K8S = DEPLOY / "k8s"
OVERLAYS = (*SITES, "central")
KUSTOMIZE_KEYS = {
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "components",
    "labels",
    "configMapGenerator",
    "images",
}
WORKLOADS = ("Deployment", "Job")
KUBERNETES_VERSION = "1.29.0"  # the schemas the rendered objects are validated against (strict)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """Render a kustomization with the features these manifests use (resources, components,
    configMapGenerator with merge, namespace, labels, images), as kustomize does, less the
    generated names' hash suffix. Anything else in a kustomization fails here, not silently."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert set(spec) <= KUSTOMIZE_KEYS, f"{folder}: this test does not render {set(spec) - KUSTOMIZE_KEYS}"
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        assert path.exists(), f"{folder}/kustomization.yaml lists {entry}, which does not exist"
        objects += kustomize(path) if path.is_dir() else _documents(path)
    for entry in spec.get("components", []):
        component = folder / entry
        assert yaml.safe_load((component / "kustomization.yaml").read_text())["kind"] == "Component"
        objects = _transform(component, yaml.safe_load((component / "kustomization.yaml").read_text()), objects)
    return _transform(folder, spec, objects, own_resources=False)


def _transform(
    folder: Path, spec: dict[str, Any], objects: list[dict[str, Any]], own_resources: bool = True
) -> list[dict[str, Any]]:
    if own_resources:
        for entry in spec.get("resources", []):
            assert (folder / entry).is_file(), f"{folder}: {entry} does not exist"
            objects = [*objects, *_documents(folder / entry)]
    for generator in spec.get("configMapGenerator", []):
        data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
        existing = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == generator["name"]]
        if generator.get("behavior") == "merge":
            assert existing, f"{folder}: merges into a ConfigMap {generator['name']} that no base makes"
            existing[0]["data"].update(data)
        else:
            assert not existing, f"{folder}: {generator['name']} made twice"
            objects.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
            )
    for label in spec.get("labels", []):
        assert label.get("includeSelectors") is False and label.get("includeTemplates") is True
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
            if obj["kind"] in WORKLOADS:
                obj["spec"]["template"]["metadata"].setdefault("labels", {}).update(label["pairs"])
    for image in spec.get("images", []):
        for container in (
            c for o in objects if o["kind"] in WORKLOADS for c in o["spec"]["template"]["spec"]["containers"]
        ):
            if container["image"].split(":")[0] == image["name"]:
                container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    if "namespace" in spec:
        for obj in objects:
            obj["metadata"]["namespace"] = spec["namespace"]
    return objects


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    import copy

    return {overlay: copy.deepcopy(kustomize(K8S / "overlays" / overlay)) for overlay in OVERLAYS}


def test_there_is_an_overlay_per_site_and_one_for_the_central_office_and_they_copy_no_manifest():
    assert sorted(p.name for p in (K8S / "overlays").iterdir()) == sorted(OVERLAYS)
    texts = {}
    for overlay in OVERLAYS:
        files = sorted(p.name for p in (K8S / "overlays" / overlay).iterdir())
        assert files == ["kustomization.yaml"], f"{overlay} holds {files}: an overlay only refers to its base"
        text = (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
        spec = yaml.safe_load(text)
        assert spec["namespace"] == f"peerlink-{overlay}"
        assert spec["resources"] == (["../../base/central"] if overlay == "central" else ["../../base"])
        body = "\n".join(line for line in text.splitlines() if not line.startswith("# The Peerlink site of"))
        texts[overlay] = body.replace(overlay, "<site>")
    assert len({texts[s] for s in SITES}) == 1, "the site overlays differ by more than their site"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_to_valid_kubernetes_objects_for_its_site(rendered, overlay):
    import kubernetes_validate

    objects = rendered[overlay]
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{overlay}: {obj['kind']} {obj['metadata']['name']}: {exc.message}") from None
        assert obj["metadata"]["namespace"] == f"peerlink-{overlay}"
        assert obj["metadata"]["labels"]["peerlink.org/site"] == overlay
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"]
    assert config["metadata"]["name"] == "peerlink-config" and config["data"]["PEERLINK_SITE"] == overlay
    services = ("reporting",) if overlay == "central" else SITE_SERVICES
    names = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects if o["kind"] != "ConfigMap")
    expected = [
        f"{k}/{s}{suffix}"
        for s in services
        for k, suffix in (("Deployment", "-api"), ("Deployment", "-worker"), ("Job", "-migrate"), ("Service", ""))
    ]
    assert names == sorted([*expected, "NetworkPolicy/peerlink-ingress"])


def _pods(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            pod = obj["spec"]["template"]["spec"]
            for container in pod["containers"]:
                yield obj, pod, container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_is_hardened_probed_and_runs_a_real_subcommand_of_its_image(rendered, overlay):
    objects = rendered[overlay]
    worker_probe = compose_file("site")["services"]["referrals-worker"]["healthcheck"]["test"][1:]
    for obj, pod, container in _pods(objects):
        name = obj["metadata"]["name"]
        service, _, role = name.rpartition("-")
        assert container["image"] == f"peerlink/{service}:0.1.0"
        assert "command" not in container, f"{name}: keep the image's ENTRYPOINT ({console_script(service)[0]})"
        parse_command(service_cli(service), container["args"])
        assert container["args"][0] == {"api": "serve", "worker": "work", "migrate": "migrate"}[role]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(instruction(service, "USER")[0].split(":")[0])
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]} and security["privileged"] is False
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert {TMP, image_env(service)["PEERLINK_VAR_DIR"]} <= set(mounts)
        assert all("emptyDir" in volumes[v] for v in mounts.values())
        assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
        assert container["envFrom"] == [{"configMapRef": {"name": "peerlink-config"}}]
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["PEERLINK_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": f"peerlink-{service}",
            "key": "database-url",
        }
        if role == "api":
            assert obj["kind"] == "Deployment"
            assert env["PEERLINK_PORT"]["value"] == str(definition(service).default_port)
            assert container["ports"] == [{"name": "http", "containerPort": definition(service).default_port}]
            assert container["startupProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
            assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
            assert env["PEERLINK_API_TOKENS"]["valueFrom"]["secretKeyRef"]["name"] == "peerlink-api-tokens"
        elif role == "worker":
            assert obj["kind"] == "Deployment" and obj["spec"]["strategy"] == {"type": "Recreate"}
            assert container["readinessProbe"]["exec"]["command"] == [*worker_probe[:-1], service]
            assert "PEERLINK_API_TOKENS" not in env
        else:
            assert obj["kind"] == "Job" and pod["restartPolicy"] == "Never"
            assert "PEERLINK_AMQP_URL" not in env and "PEERLINK_API_TOKENS" not in env
        if role != "migrate":
            assert env["PEERLINK_AMQP_URL"]["valueFrom"]["secretKeyRef"] == {
                "name": f"peerlink-{service}",
                "key": "amqp-url",
            }
    for service in (o for o in objects if o["kind"] == "Service"):
        (api,) = [o for o in objects if o["metadata"]["name"] == f"{service['metadata']['name']}-api"]
        pod_labels = api["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert api["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy"]
    selector = policy["spec"]["podSelector"]["matchLabels"].items()
    assert all(selector <= obj["spec"]["template"]["metadata"]["labels"].items() for obj, _, _ in _pods(objects))


def test_the_operations_guide_names_every_secret_the_manifests_read(rendered):
    guide = (ROOT / "docs" / "operations.md").read_text()
    for objects in rendered.values():
        for _, _, container in _pods(objects):
            for variable in container.get("env", []):
                ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in guide and ref["key"] in guide, ref


# --- the operations guide ------------------------------------------------------------------------


def test_every_command_in_the_operations_guide_is_a_real_command():
    guide = (ROOT / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", guide, flags=re.S)
    checked = set()
    from peerlink.admin import main as peerlink_cli

    clis = {console_script(s)[0]: service_cli(s) for s in SERVICES} | {"peerlink": peerlink_cli}
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True) if line.strip() else []
            for start, word in enumerate(words):
                if word in clis and (start == 0 or words[start - 1] in ("exec", "--", "run", "|", "&&", "--rm")):
                    argv = []
                    for item in words[start + 1 :]:
                        if item in ("|", "&&", ";", ">", "2>&1"):
                            break
                        argv.append(item)
                    parse_command(clis[word], argv)
                    checked.add(f"{word} {' '.join(argv[:2])}")
    for needed in (
        "peerlink central status",
        "peerlink central link",
        "peerlink token new",
        "peerlink-reporting replay",
    ):
        assert any(c.startswith(needed) for c in checked), f"the guide shows no `{needed}`"
    assert any(" parked replay" in c for c in checked) and any(" parked list" in c for c in checked)
