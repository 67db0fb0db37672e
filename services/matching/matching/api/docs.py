"""OpenAPI pieces shared by the blueprints."""

from peerlink.web import idempotency

IDEMPOTENCY_KEY = idempotency.parameter(
    "A retry with the same key returns the first result instead of making a second one."
)
