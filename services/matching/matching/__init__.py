"""Peerlink matching service: Mentor registry, explainable scores, optimal assignment and the match lifecycle."""
