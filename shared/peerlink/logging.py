"""JSON logs, one object a line, each with the service, the site and the correlation id."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from peerlink import context

# Attributes every LogRecord has; anything else was passed in ``extra=`` and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, site: str):
        super().__init__()
        self.service = service
        self.site = site

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "site": self.site,
        }
        correlation = context.correlation_id()
        if correlation:
            entry["correlation_id"] = correlation
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=str, ensure_ascii=False)


QUIET = ("amqp", "kombu", "werkzeug", "gunicorn.access", "alembic", "httpx")


def configure_logging(service: str, site: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(service, site, level))


def logging_config(service: str, site: str, level: str = "INFO") -> dict[str, Any]:
    """One JSON handler for everything, gunicorn's own logs included."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service, "site": site}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": sys.stderr}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }
