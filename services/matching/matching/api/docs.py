"""OpenAPI pieces shared by the blueprints."""

from peerlink.web import idempotency

IDEMPOTENCY_KEY = idempotency.parameter(
    "A retry with the same key returns the first result instead of making a second one."
)

# A side declaring a do-not-match pair it already declared (a retry, a double click).
DECLARED = "Declared: the new entry. A pending proposal between them is declined."
ALREADY_DECLARED = (
    "Already declared by this side: its first declaration, unchanged (the repeat's reason is not "
    "taken; withdraw and declare again to change it). Nothing is written."
)
