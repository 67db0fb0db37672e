"""Persistence of the events service (SQLAlchemy Core), one module per part of the domain:
``schedule`` (groups, events, series), ``places`` (guests, registrations, attendance),
``ledger`` (artworks, lots, bids, sales); the tables themselves are in ``tables``."""

from events.store import ledger, places, schedule, tables
from events.store.tables import metadata

__all__ = ["ledger", "metadata", "places", "schedule", "tables"]
