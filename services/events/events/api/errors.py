"""Domain refusals as problem+json: each exception says what went wrong and what is allowed."""

from __future__ import annotations

from flask import Flask, Response

from events.commands import GroupInactive, IdempotencyConflict, NotFound
from events.domain.attendance import AttendanceRefused, InvalidAttendance
from events.domain.guests import AlreadyErased
from events.domain.recurrence import InvalidRule
from events.domain.registration import AlreadyRegistered, InvalidRegistration, RegistrationRefused
from events.domain.sales import InvalidSale, SaleRefused
from events.domain.schedule import EventLocked, InvalidEvent
from events.domain.timing import InvalidTime
from peerlink.web import problem

FIELD_ERRORS = (InvalidEvent, InvalidTime, InvalidRule, InvalidRegistration, InvalidAttendance, InvalidSale)
CONFLICTS = (EventLocked, GroupInactive, AttendanceRefused, SaleRefused, AlreadyErased)


def pointer(field: str) -> str:
    return "/" + field.replace(".", "/")


def install(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        return problem(404, str(exc))

    for kind in FIELD_ERRORS:

        @app.errorhandler(kind)
        def invalid(exc: InvalidEvent) -> Response:
            return problem(422, str(exc), errors=[{"pointer": pointer(exc.field), "detail": str(exc)}])

    for kind in CONFLICTS:

        @app.errorhandler(kind)
        def conflict(exc: Exception) -> Response:
            return problem(409, str(exc))

    @app.errorhandler(RegistrationRefused)
    def refused(exc: RegistrationRefused) -> Response:
        return problem(409, str(exc), title="Registration is not open", code=exc.code)

    @app.errorhandler(AlreadyRegistered)
    def already(exc: AlreadyRegistered) -> Response:
        return problem(
            409,
            str(exc),
            title="Already registered",
            registration_id=str(exc.existing.id),
            registration_status=exc.existing.status.value,
            # Who already holds a place, and in which role (absent for a guest).
            person_id=str(exc.person_id) if exc.person_id else None,
            held_as=exc.held_as if exc.person_id else None,
        )

    @app.errorhandler(IdempotencyConflict)
    def key_reused(exc: IdempotencyConflict) -> Response:
        return problem(422, str(exc), errors=[{"parameter": "Idempotency-Key", "detail": str(exc)}])
