"""RFC 5545 recurrence rules as deployment windows use them: one RRULE from a wall-clock start.

Model validation (`DeploymentWindow.clean`) and the window computations
(`instances.environments.windows`) both parse through here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.rrule import rrule, rrulestr

_ALLOWED_FREQS = {"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}

# A window's first occurrence must come within this of its start, and the next opening is
# looked for this far ahead (instances.environments.windows).
HORIZON = timedelta(days=400)

# The parts that pick days of the calendar: together they may pick none ("FREQ=DAILY;
# BYMONTH=2;BYMONTHDAY=30"). dateutil then searches day after day up to the year 9999 for
# the next occurrence, seconds of CPU for each question asked of the rule.
_DATE_PARTS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")


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
    if _parts(rule).get("FREQ") not in _ALLOWED_FREQS:
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


def _parts(text: str) -> dict[str, str]:
    rule = text.strip().removeprefix("RRULE:").upper()
    return dict(p.split("=", 1) for p in rule.split(";") if "=" in p)


def picks_no_day(text: str, start: datetime) -> bool:
    """Whether the rule's month, month-day, year-day and week-number parts together pick no
    day of the calendar from `start` on (dateutil answers that of a yearly rule, whose search
    goes year by year, in a fraction of a second).

    The rule's days are among those days whatever its frequency, interval or weekdays, so
    when there are none the rule never occurs, and is answered without the day-by-day search.
    """
    parts = _parts(text)
    if not any(parts.get(name) for name in ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")):
        return False  # months alone always hold days
    probe = ";".join(f"{name}={parts[name]}" for name in _DATE_PARTS if parts.get(name))
    try:
        days = rrulestr(f"FREQ=YEARLY;{probe}", dtstart=start)
    except (ValueError, TypeError):
        return False  # the rule itself says what is wrong with it
    return days.after(start, inc=True) is None


def require_occurrence(rule: rrule, text: str, start: datetime) -> datetime:
    """The rule's first occurrence from `start`, refused unless it comes within HORIZON.

    Only a save asks this: a rule that picks days but never lands on one (an interval that
    always steps past the weekday it names) costs dateutil's whole search, once."""
    never = "It never occurs: check the months, days and week numbers it names."
    if picks_no_day(text, start):
        raise WindowRuleError(never)
    first = rule.after(start, inc=True)
    if first is None:
        raise WindowRuleError(never)
    if first > start + HORIZON:
        raise WindowRuleError(
            f"Its first occurrence, {first:%Y-%m-%d}, is more than {HORIZON.days} days after "
            "its start: start it nearer."
        )
    return first
