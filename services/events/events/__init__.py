"""Peerlink events service: Art groups, sessions, exhibitions, auctions, card sales and registrations."""
