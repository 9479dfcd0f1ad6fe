"""The refusal of the promotion domain: the routing, the dry run and the rules raise it, and
views, forms, the API and commands show its message (never an error page)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class PromotionError(ValidationError):
    """A promotion cannot be requested or changed as asked; the message says why."""
