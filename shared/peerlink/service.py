"""What a service is, declared once: its app, its background components, its migrations.

Each service's ``app.py`` is a :class:`ServiceDefinition`; everything that wires the world
(engines, the Flask app, the relay, the consumers) is built from it here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint

from peerlink.config import Settings, load_settings
from peerlink.consumer import Consumer
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.outbox import Producer
from peerlink.relay import Relay
from peerlink.subscriptions import Subscriptions
from peerlink.web import create_service_app
from peerlink.web.auth import undeclared_endpoints
from peerlink.worker import Component


def _no_components(settings: Settings, engine: sa.Engine) -> dict[str, Component]:
    return {}


@dataclass
class ServiceDefinition:
    name: str
    default_port: int
    title: str
    description: str
    migrations: Migrations
    blueprints: Sequence[Blueprint] = ()
    subscriptions: Sequence[Subscriptions] = ()
    # The service's own background work besides its relay and consumers (e.g. a mail sender).
    extra_components: Callable[[Settings, sa.Engine], dict[str, Component]] = field(default=_no_components)
    # The service's own app set-up: its error handlers, its settings checked at start, its pages.
    configure_app: Callable[[Flask, Settings], None] | None = None

    def settings(self) -> Settings:
        return load_settings(self.name, default_port=self.default_port)

    def create_app(self, settings: Settings) -> Flask:
        app = create_service_app(
            settings,
            create_engine(settings.database_url),
            title=self.title,
            description=self.description,
            blueprints=self.blueprints,
        )
        if self.configure_app is not None:
            self.configure_app(app, settings)
            missing = undeclared_endpoints(app)
            if missing:
                raise RuntimeError(f"endpoints without @public or @requires(...): {', '.join(missing)}")
        return app

    def components(self, settings: Settings, engine: sa.Engine) -> dict[str, Component]:
        """The relay, one consumer per subscription set, and the service's own extras."""
        producer = Producer(settings.site, settings.service)
        components: dict[str, Component] = {"relay": Relay(engine, settings.amqp_url, service=settings.service)}
        for subscriptions in self.subscriptions:
            components[f"consumer:{subscriptions.name}"] = Consumer(
                engine,
                settings.amqp_url,
                subscriptions,
                producer=producer,
                retry_delays=settings.retry_delays,
                prefetch=settings.prefetch,
            )
        components.update(self.extra_components(settings, engine))
        return components
