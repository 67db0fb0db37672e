"""Alembic glue: one environment (here) for every service, each with its own versions.

A service keeps only ``<package>/migrations/versions/``; the environment imports that
service's metadata and targets it together with the messaging tables (outbox, sequences,
inbox), so each service's migrations create those in its own database.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from peerlink import tables
from peerlink.db import create_engine, normalize_url

ENVIRONMENT = str(Path(__file__).parent / "alembic")


@dataclass(frozen=True)
class Migrations:
    """``metadata`` as ``module:attribute``; ``package`` holds ``migrations/versions/``."""

    metadata: str
    package: str

    @property
    def versions(self) -> str:
        return str(resources.files(self.package) / "migrations" / "versions")

    def config(self, url: str) -> Config:
        config = Config()
        config.set_main_option("script_location", ENVIRONMENT)
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", self.versions)
        config.set_main_option("peerlink.metadata", self.metadata)
        # ConfigParser interpolation would choke on a '%' in a URL-encoded password.
        rendered = normalize_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
        return config

    def upgrade(self, url: str, revision: str = "head") -> None:
        command.upgrade(self.config(url), revision)

    def is_current(self, url: str) -> bool:
        """Whether the database is at the newest migration (a worker must not run on an old schema)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        heads = set(ScriptDirectory.from_config(self.config(url)).get_heads())
        engine = create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return set(MigrationContext.configure(conn).get_current_heads()) == heads
        finally:
            engine.dispose()

    def revision(self, url: str, message: str) -> None:
        """For developers: a new revision from the difference between models and database."""
        command.revision(self.config(url), message=message, autogenerate=True, version_path=self.versions)

    def target_metadata(self) -> list[sa.MetaData]:
        return [load_metadata(self.metadata), tables.metadata]


def load_metadata(reference: str) -> sa.MetaData:
    module, _, attribute = reference.partition(":")
    metadata = getattr(importlib.import_module(module), attribute)
    if not isinstance(metadata, sa.MetaData):
        raise TypeError(f"{reference} is not a MetaData")
    return metadata


def run_environment() -> None:
    """The body of the shared ``env.py`` (online mode only: there is always a database)."""
    from alembic import context

    config = context.config
    target = [load_metadata(config.get_main_option("peerlink.metadata") or ""), tables.metadata]
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
