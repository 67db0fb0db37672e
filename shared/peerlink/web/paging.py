"""The ``offset`` of every paged list: bounded, so that no client's number reaches the database.

An unbounded offset went straight into ``OFFSET :n``: 2**63 or more overflowed the driver
(SQLite: OverflowError) or the server (PostgreSQL: "bigint out of range"), a 500 instead of a
field error. The bound is far past any list a site will ever page through, and is documented
in each service's OpenAPI as the parameter's ``maximum``.
"""

from __future__ import annotations

from marshmallow import fields, validate

# The largest 32-bit signed integer: fits every integer column and OFFSET on SQLite and PostgreSQL.
MAX_OFFSET = 2**31 - 1


def offset() -> fields.Integer:
    """How many items of the list to skip (0 to ``MAX_OFFSET``)."""
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
