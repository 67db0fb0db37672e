from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from peerlink import tables
from peerlink.db import create_engine, new_metadata
from peerlink.outbox import Producer

# A table for handlers under test to write their effects to.
_test_metadata = new_metadata()
_effects = sa.Table(
    "effects",
    _test_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(100), nullable=False),
    sa.Column("note", sa.String(100)),
)


def _engine(url: str) -> sa.Engine:
    engine = create_engine(url)
    tables.metadata.create_all(engine)
    _test_metadata.create_all(engine)
    return engine


@pytest.fixture
def effects() -> sa.Table:
    return _effects


@pytest.fixture
def producer() -> Producer:
    return Producer("ebbw-vale", "referrals")


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = _engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[sa.Engine]:
    engine = _engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = _engine(postgres_url)
    yield engine
    engine.dispose()
