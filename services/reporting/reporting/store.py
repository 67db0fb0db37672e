"""The reporting service's own tables (its domain tables arrive with its issue)."""

from peerlink.db import new_metadata

metadata = new_metadata()
