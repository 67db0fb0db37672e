"""Peerlink referrals service: where a person enters the network."""
