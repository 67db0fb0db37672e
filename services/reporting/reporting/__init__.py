"""Peerlink reporting service: The central office: every site's pseudonymous events, read models and reports."""
