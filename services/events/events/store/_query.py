"""A helper the store modules share."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def one(conn: Connection, query: sa.Select[Any], for_update: bool = False) -> Any:
    if for_update:
        query = query.with_for_update()
    return conn.execute(query).one_or_none()
