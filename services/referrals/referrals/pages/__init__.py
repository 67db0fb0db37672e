"""Referrals' public HTML pages (no token): the bilingual self-referral form."""

from referrals.pages.self_referral import blueprint

__all__ = ["blueprint"]
