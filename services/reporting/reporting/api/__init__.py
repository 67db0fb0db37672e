"""The central office's HTTP API (reports) and its dashboard page."""

from reporting.api import reports

BLUEPRINTS = [reports.blueprint]
