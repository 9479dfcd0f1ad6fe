"""RFC 5545 recurrence rules as deployment windows use them: one RRULE from a wall-clock start.

Model validation (`DeploymentWindow.clean`) and the window computations
(`instances.environments.windows`) both parse through here.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.rrule import rrule, rrulestr

_ALLOWED_FREQS = {"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


class WindowRuleError(ValueError):
    """A recurrence rule that is not one RFC 5545 RRULE we can evaluate; the text says why."""


def parse_rule(text: str, start: datetime) -> rrule:
    """One RRULE (with or without the `RRULE:` prefix) from an aware wall-clock `start`."""
    rule = text.strip().removeprefix("RRULE:")
    if not rule:
        raise WindowRuleError("Write a recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH.")
    if any(c in rule for c in "\r\n") or ":" in rule:
        raise WindowRuleError(
            "One RRULE only (no DTSTART, EXDATE or other lines): the start and the time zone "
            "are fields of their own."
        )
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    if parts.get("FREQ") not in _ALLOWED_FREQS:
        raise WindowRuleError(
            "FREQ must be one of " + ", ".join(sorted(_ALLOWED_FREQS)) + " (windows are at "
            "least an hour apart)."
        )
    try:
        parsed = rrulestr(rule, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise WindowRuleError(f"Not a valid RFC 5545 recurrence rule: {exc}") from None
    if not isinstance(parsed, rrule):
        raise WindowRuleError("One RRULE only.")
    return parsed
