from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from notifications.app import DEFINITION
from peerlink.db import create_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    DEFINITION.migrations.upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()
