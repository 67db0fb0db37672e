"""The referrals domain in plain Python: intake, the triage workflow, the waiting list, peer
advocacy, wellbeing check-ins and erasure. No Flask, no SQLAlchemy: every rule here is
tested without a broker or a database."""
