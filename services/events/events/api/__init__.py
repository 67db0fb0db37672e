"""The events HTTP API: one module per resource."""

from events.api import attendance, events, groups, registrations, sales, series

BLUEPRINTS = [
    groups.blueprint,
    events.blueprint,
    events.calendars,
    series.blueprint,
    registrations.blueprint,
    registrations.guests,
    attendance.blueprint,
    sales.blueprint,
    sales.artworks,
]
