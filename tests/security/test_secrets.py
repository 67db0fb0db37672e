"""Secrets come only from the environment: nothing committed looks like one, and no setting
defaults to one.

The scanner is the one ``tests/test_deploy.py`` proves on known secrets; here it reads every
tracked file of the repository, not only the deployment files. Test fixtures and local
development may use RabbitMQ's ``guest`` and the documented placeholders, nothing else.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
from flask import Flask
from limits.storage import MemoryStorage

from notifications import settings as notification_settings
from peerlink import admin
from peerlink.cli import service_cli
from peerlink.config import ConfigError, Settings, load_settings
from peerlink.web import ratelimit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("referrals", "matching", "events", "notifications", "reporting")
# Text we write; lockfiles, images and binary data are not where a secret would be typed.
TEXT = re.compile(
    r"\.(py|toml|ya?ml|json|md|j2|html|txt|cfg|ini|sh|env|example|conf|mako|Procfile)$|Dockerfile$|Makefile$"
)


# Each a made-up value a test feeds to the code (to see it redacted, or refused, or passed on),
# or a docstring's example; reviewed one by one. Anything new fails until it is added here.
KNOWN_FAKES = {
    "shared/peerlink/broker_admin.py": {"http://user:pass@"},  # the docstring's URL shape
    "shared/tests/test_central_link.py": {"amqps://merthyr:secret@"},  # passed through to the shovel
    "shared/tests/test_config.py": {"mysql://user:hunter2@"},  # refused, and redacted in the message
    "tests/test_deploy.py": {"amqp://merthyr-referrals:Zq81xkd@", "amqp://{user}:{password}@"},  # the scanner's own
    # refused (not loopback), and never echoed
    "tests/security/test_load_loopback.py": {"smtps://relay:secret@", "amqp://peerlink:secret@"},
}


@functools.cache
def _scanner():
    spec = importlib.util.spec_from_file_location("deploy_checks", ROOT / "tests" / "test_deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.secrets_in


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.splitlines() if TEXT.search(name) and (ROOT / name).is_file()]


def test_no_tracked_file_holds_what_looks_like_a_secret():
    secrets_in = _scanner()
    files = tracked_text_files()
    found = {}
    for path in files:
        text = path.read_text(errors="replace")
        known = KNOWN_FAKES.get(str(path.relative_to(ROOT)), set())
        if path == Path(__file__).resolve():  # this file names them all, above
            known = set().union(*KNOWN_FAKES.values())
        hits = [hit for hit in secrets_in(text, python=path.suffix == ".py") if hit not in known]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    print(f"{len(files)} tracked text files scanned")
    assert len(files) > 200
    assert found == {}, found


# Every setting the services read, each decided: either it could hold a secret (a credential, a
# URL with a password, a provider's key) and is checked below for what it is when nobody sets it,
# or it cannot, and why. A setting read anywhere in the services' code and listed in neither
# fails test_every_setting_the_services_read_is_decided until someone decides.
NO_DEFAULT = "no default: unset, the service refuses to start (ConfigError)"


def _settings(**env: str) -> Settings:
    return load_settings("notifications", default_port=8104, environ={"PEERLINK_SITE": "merthyr", **env})


def _rate_limit_storage() -> str:
    """The storage the app counts the public forms' posts in, as ``create_app`` installs it."""
    app = Flask("defaults")
    ratelimit.install(app, _settings().optional("PEERLINK_RATE_LIMIT_STORAGE"))
    storage = app.extensions[ratelimit.EXTENSION].storage
    return "memory://" if isinstance(storage, MemoryStorage) else f"{type(storage).__name__}: {vars(storage)}"


def _sms_key() -> Any:
    """The provider's key, once a provider is configured (without one no key is read)."""
    return notification_settings.sms_provider(_settings(PEERLINK_SMS_URL="https://sms.example.org"))


# name -> (what it holds, what the service uses when it is not set, what that must be)
SECRET_CAPABLE: dict[str, tuple[str, Callable[[], Any], Any]] = {
    "PEERLINK_API_TOKENS": ("the tokens' digests", lambda: _settings().tokens, ()),  # no token accepted
    # RabbitMQ's own guest account, which the broker lets in from localhost only.
    "PEERLINK_AMQP_URL": (
        "the broker's user and password",
        lambda: _settings().amqp_url,
        "amqp://guest:guest@localhost:5672/merthyr",
    ),
    "PEERLINK_DATABASE_URL": (
        "the database's user and password",
        lambda: _settings().database_url,
        "sqlite:///var/merthyr/notifications.db",
    ),
    "PEERLINK_SMTP_URL": (
        "the mail relay's user and password",
        lambda: notification_settings.smtp_url(_settings()),
        NO_DEFAULT,
    ),
    "PEERLINK_SMS_URL": (
        "the text provider's address",
        lambda: notification_settings.sms_provider(_settings()),
        None,
    ),  # texts not set up: recorded as skipped
    "PEERLINK_SMS_API_KEY": ("the text provider's secret key", _sms_key, NO_DEFAULT),
    "PEERLINK_RATE_LIMIT_STORAGE": ("a shared store's URL, with its password", _rate_limit_storage, "memory://"),
}
NOT_SECRET = {
    "PEERLINK_SITE": "a site slug",
    "PEERLINK_PORT": "a port number",
    "PEERLINK_LOG_LEVEL": "a log level",
    "PEERLINK_RETRY_DELAYS": "durations",
    "PEERLINK_SEND_RETRY_DELAYS": "durations",
    "PEERLINK_REMINDER_BEFORE": "a duration",
    "PEERLINK_SMS_INBOUND_POLL": "a duration",
    "PEERLINK_PREFETCH": "a count",
    "PEERLINK_MAX_BODY_BYTES": "a size",
    "PEERLINK_EMAIL_SENDERS": "a count",
    "PEERLINK_SMS_SENDERS": "a count",
    "PEERLINK_TRUSTED_PROXIES": "a count",
    "PEERLINK_EVENTS_GUEST_RETENTION_DAYS": "a count of days",
    "PEERLINK_EVENTS_NO_SHOW_AFTER_HOURS": "a count of hours",
    "PEERLINK_DIGEST_AT": "a time of day",
    "PEERLINK_QUIET_HOURS": "times of day",
    "PEERLINK_TIMEZONE": "a time zone name",
    "PEERLINK_VAR_DIR": "a folder",
    "PEERLINK_WELLBEING_SCALE": "a file's path",
    "PEERLINK_MAIL_FROM": "the sender's address, in every email",
    "PEERLINK_SMS_TEMPLATE_ID": "the provider's template id, sent in every request beside the key",
    "PEERLINK_SMS_SENDER_ID": "the provider's sender id, sent in every request beside the key",
}
# A name like these is a credential's until shown otherwise: none may be filed as not secret.
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|KEY|CREDENTIAL|AUTH|URL|DSN|STORAGE")
# Where the services' code is: the shared library (but its test helpers) and each service's package.
SERVICE_CODE = ["shared/peerlink", *(f"services/{name}/{name}" for name in SERVICES)]


def settings_read_by_the_services() -> set[str]:
    found = set()
    for folder in SERVICE_CODE:
        for path in (ROOT / folder).rglob("*.py"):
            if "testing" not in path.relative_to(ROOT / folder).parts:
                found |= set(re.findall(r"\bPEERLINK_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    return found


def test_every_setting_the_services_read_is_decided():
    read = settings_read_by_the_services()
    decided = set(SECRET_CAPABLE) | set(NOT_SECRET)
    print(f"{len(read)} settings read: {len(SECRET_CAPABLE)} could hold a secret, {len(NOT_SECRET)} cannot")
    assert read - decided == set(), f"settings nobody decided could or could not hold a secret: {read - decided}"
    assert decided - read == set(), f"settings decided that no service reads any more: {decided - read}"
    assert not [name for name in NOT_SECRET if SECRET_NAME.search(name)]


def assert_not_a_secret(value: Any, where: str) -> None:
    """Nothing anyone could use: no credentials in a URL (but RabbitMQ's guest, on loopback only),
    nothing the committed-secrets scanner would flag."""
    if value is None or value in ((), "", NO_DEFAULT):
        return
    assert isinstance(value, str), f"{where}: {value!r}"
    assert _scanner()(value) in ([], ["amqp://guest:guest@"]), f"{where}: {value!r}"
    parts = urlsplit(value)
    if parts.password is not None:
        assert (parts.username, parts.password) == ("guest", "guest"), f"{where}: {value!r}"
        assert parts.hostname in ("localhost", "127.0.0.1", "::1"), f"{where}: guest is let in from loopback only"


@pytest.mark.parametrize("name", list(SECRET_CAPABLE))
def test_no_setting_defaults_to_a_secret(name):
    _holds, when_unset, expected = SECRET_CAPABLE[name]
    try:
        value = when_unset()
    except ConfigError as exc:
        assert "not set" in str(exc), exc
        value = NO_DEFAULT
    assert_not_a_secret(value, f"{name} unset")
    assert value == expected, f"{name} unset: {value!r}"


def options(command: click.Command, path: str) -> list[tuple[str, click.Parameter]]:
    found = [(f"{path} {param.opts[0] if param.opts else param.name}", param) for param in command.params]
    for name, sub in getattr(command, "commands", {}).items():
        found += options(sub, f"{path} {name}")
    return found


def test_no_command_line_option_defaults_to_a_secret():
    """The operators' commands (``peerlink`` and each service's) take URLs too: the broker's, the
    central office's, the management API's. None defaults to a credential."""
    commands = {"peerlink": admin.main}
    commands |= {
        f"peerlink-{name}": service_cli(importlib.import_module(f"{name}.app").DEFINITION) for name in SERVICES
    }
    checked = 0
    for program, command in commands.items():
        for where, param in options(command, program):
            if isinstance(param.default, str):
                assert_not_a_secret(param.default, where)
                checked += 1
            if SECRET_NAME.search((param.name or "").upper()):
                assert param.default is None or isinstance(param.default, str), where
    print(f"{checked} options with a default checked")
    assert checked >= 5


def test_a_token_itself_is_refused_where_its_digest_belongs():
    with pytest.raises(ConfigError, match="never the token itself"):
        load_settings(
            "referrals",
            default_port=8101,
            environ={"PEERLINK_SITE": "merthyr", "PEERLINK_API_TOKENS": "coordinator:merthyr:plain-token"},
        )
