"""OpenAPI pieces shared by the blueprints."""

IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 8, "maxLength": 100},
    "description": "A retry with the same key returns the first result instead of making a second one.",
}
