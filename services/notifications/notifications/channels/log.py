"""For development: a message "sent" is a log line holding it in full (never use it in production,
where the logs are not meant to hold anyone's messages)."""

from __future__ import annotations

import logging

from notifications.channels import Outgoing, Receipt

log = logging.getLogger("notifications.outbox.log")
# The log is where these messages go: written whatever the service's level (PEERLINK_LOG_LEVEL),
# or a message recorded as sent would be nowhere.
log.setLevel(logging.INFO)


class LogTransport:
    def __init__(self, channel: str):
        self.name = "log"
        self.channel = channel

    def send(self, message: Outgoing) -> Receipt:
        log.info(
            "message written to the log instead of being sent",
            extra={
                "channel": self.channel,
                "delivery": message.delivery_id,
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
                "languages": list(message.languages),
            },
        )
        return Receipt(provider="log", reference=message.delivery_id)

    def idle(self) -> None:
        pass

    def fresh(self) -> LogTransport:
        return self
