"""Peerlink notifications service: turns events into messages people receive, once."""
