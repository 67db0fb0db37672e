"""Configuration from the environment, the same names in every service.

This is the only module that reads ``os.environ``. A missing or malformed setting raises
:class:`ConfigError` whose message is one line naming the variable; the CLI prints it and
exits, so an operator never has to read a traceback to find a typo.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

SITE_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
ROLES = ("coordinator", "mentor", "facilitator", "central-reader", "service")
DEFAULT_RETRY_DELAYS = (1.0, 10.0, 60.0, 600.0, 3600.0)


class ConfigError(Exception):
    """A setting is missing or malformed; the message is meant for the operator as is."""


@dataclass(frozen=True)
class TokenEntry:
    """One accepted API token, stored only as its SHA-256 digest."""

    role: str
    site: str
    digest: str
    label: str = ""


@dataclass(frozen=True)
class Settings:
    service: str
    site: str
    database_url: str
    amqp_url: str
    port: int
    tokens: tuple[TokenEntry, ...] = ()
    log_level: str = "INFO"
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    prefetch: int = 200
    max_body_bytes: int = 64 * 1024
    extra: Mapping[str, str] = field(default_factory=dict)

    def optional(self, name: str) -> str | None:
        value = self.extra.get(name, "").strip()
        return value or None


def load_settings(
    service: str,
    *,
    default_port: int,
    environ: Mapping[str, str] | None = None,
    var_dir: Path | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    site = _site(env)
    var_dir = var_dir or Path(env.get("PEERLINK_VAR_DIR", "var"))
    database_url = env.get("PEERLINK_DATABASE_URL", "").strip() or (
        f"sqlite:///{(var_dir / site / f'{service}.db').as_posix()}"
    )
    _check_database_url(database_url)
    amqp_url = env.get("PEERLINK_AMQP_URL", "").strip() or default_amqp_url(site)
    _check_amqp_url(amqp_url)
    return Settings(
        service=service,
        site=site,
        database_url=database_url,
        amqp_url=amqp_url,
        port=_int(env, "PEERLINK_PORT", default_port, minimum=1, maximum=65535),
        tokens=parse_tokens(env.get("PEERLINK_API_TOKENS", "")),
        log_level=_log_level(env),
        retry_delays=parse_durations("PEERLINK_RETRY_DELAYS", env.get("PEERLINK_RETRY_DELAYS", ""))
        or DEFAULT_RETRY_DELAYS,
        prefetch=_int(env, "PEERLINK_PREFETCH", 200, minimum=1, maximum=5000),
        max_body_bytes=_int(env, "PEERLINK_MAX_BODY_BYTES", 64 * 1024, minimum=1024),
        extra={k: v for k, v in env.items() if k.startswith("PEERLINK_")},
    )


def default_amqp_url(site: str) -> str:
    return f"amqp://guest:guest@localhost:5672/{quote(site, safe='')}"


def parse_tokens(raw: str) -> tuple[TokenEntry, ...]:
    """``role:site:sha256hex[:label]`` entries separated by commas or whitespace."""
    entries = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (3, 4):
            raise ConfigError(
                f"PEERLINK_API_TOKENS: each entry must be role:site:sha256hex[:label], got {_redact(item)!r}"
            )
        role, site, digest = parts[:3]
        if role not in ROLES:
            raise ConfigError(f"PEERLINK_API_TOKENS: unknown role {role!r} (known: {', '.join(ROLES)})")
        if not SITE_SLUG.match(site):
            raise ConfigError(f"PEERLINK_API_TOKENS: {site!r} is not a site slug")
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ConfigError(
                "PEERLINK_API_TOKENS: the third part must be the token's SHA-256 digest "
                "(64 lowercase hex digits), never the token itself"
            )
        entries.append(TokenEntry(role, site, digest, parts[3] if len(parts) == 4 else ""))
    return tuple(entries)


def parse_durations(name: str, raw: str) -> tuple[float, ...]:
    """``"200ms,1s,1m"`` -> ``(0.2, 1.0, 60.0)``, growing strictly."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    values = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", item)
        if not match:
            raise ConfigError(f"{name}: {item!r} is not a duration such as 500ms, 10s, 5m or 1h")
        values.append(float(match.group(1)) * units[match.group(2)])
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ConfigError(f"{name}: delays must grow, got {raw!r}")
    return tuple(values)


def require_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set (expected a {'/'.join(schemes)} URL)")
    if urlsplit(value).scheme not in schemes:
        raise ConfigError(f"{name}: {_redact(value)!r} must start with one of {', '.join(s + '://' for s in schemes)}")
    return value


def _site(env: Mapping[str, str]) -> str:
    site = env.get("PEERLINK_SITE", "").strip()
    if not site:
        raise ConfigError("PEERLINK_SITE is not set (a site slug such as ebbw-vale)")
    if not SITE_SLUG.match(site) or len(site) > 40:
        raise ConfigError(f"PEERLINK_SITE: {site!r} is not a site slug (lowercase letters, digits and hyphens)")
    return site


def _check_database_url(url: str) -> None:
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(f"PEERLINK_DATABASE_URL: {_redact(url)!r} is neither a sqlite:/// nor a postgresql:// URL")


def _check_amqp_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise ConfigError(f"PEERLINK_AMQP_URL: {_redact(url)!r} is not an amqp://host/vhost URL")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ConfigError(f"PEERLINK_AMQP_URL: {exc}") from None


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name}: {value} is out of range ({bounds})")
    return value


def _log_level(env: Mapping[str, str]) -> str:
    level = env.get("PEERLINK_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"PEERLINK_LOG_LEVEL: {level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return level


def _redact(value: str) -> str:
    """Hide a password in a URL before it reaches a message."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", value)
