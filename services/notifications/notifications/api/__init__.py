"""The HTTP API: ``/deliveries``, ``/people/{id}/preferences``, ``/templates`` (+ preview),
``/coordinators``, ``/reminders``, ``/compliance/language-decisions``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from notifications.settings import NotificationSettings
from notifications.templating import TemplateSet


@dataclass(frozen=True)
class Notifications:
    """What the API needs besides the database: the templates and the service's settings."""

    templates: TemplateSet
    settings: NotificationSettings
    site: str


def notifications() -> Notifications:
    return current_app.extensions["notifications"]  # type: ignore[no-any-return]


def blueprints() -> list:  # type: ignore[type-arg]
    from notifications.api import coordinators, deliveries, people, records, templates

    return [deliveries.blueprint, people.blueprint, templates.blueprint, coordinators.blueprint, records.blueprint]
