"""The practice's clinic hours (a signed setting) and the local time the scorecard counts in.

Settings (``localscribe settings set KEY JSON``, admin):
  scorecard.clinic_hours  {"days": [1,2,3,4,5], "start": "08:00", "end": "18:00"}
                          ISO weekdays (Monday = 1); a signature at or after ``end`` or before
                          ``start``, or on another day, is after-hours documentation.
  scorecard.timezone      an IANA zone such as "Europe/Berlin"; "" (default) = this computer's.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import Any

from localscribe.scorecard.model import ClinicHours

HOURS_KEY = "scorecard.clinic_hours"
TIMEZONE_KEY = "scorecard.timezone"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_hours(value: Any, zone: Any = "") -> ClinicHours:
    """The settings as stored (None: the default), or a ValueError naming the fix."""
    default = ClinicHours()
    value = value or {}
    if not isinstance(value, dict):
        raise ValueError(f"{HOURS_KEY} must be an object like "
                         '{"days": [1,2,3,4,5], "start": "08:00", "end": "18:00"}')
    days = value.get("days", list(default.days))
    if not isinstance(days, list) or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
        raise ValueError(f"{HOURS_KEY}: days must be a list of ISO weekdays 1 (Mon) .. 7 (Sun)")
    start, end = value.get("start", default.start), value.get("end", default.end)
    for name, v in (("start", start), ("end", end)):
        if not isinstance(v, str) or not _HHMM.match(v):
            raise ValueError(f"{HOURS_KEY}: {name} must be a time HH:MM, got {v!r}")
    if end <= start:
        raise ValueError(f"{HOURS_KEY}: end ({end}) must be after start ({start})")
    zone = zone or ""
    if not isinstance(zone, str):
        raise ValueError(f"{TIMEZONE_KEY} must be a time zone name such as 'Europe/Berlin'")
    zone_info(zone)
    return ClinicHours(tuple(sorted(set(days))), start, end, zone)


def zone_info(name: str) -> tzinfo | None:
    """None means this computer's local time (DST-aware through the C library)."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TIMEZONE_KEY}: unknown time zone {name!r} "
                         "(an IANA name such as 'Europe/Berlin')") from None


def parse_utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def local(stamp: str | datetime, zone: tzinfo | None) -> datetime:
    when = parse_utc(stamp) if isinstance(stamp, str) else stamp
    return when.astimezone(zone) if zone is not None else when.astimezone()


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def after_hours(when_local: datetime, hours: ClinicHours) -> bool:
    start, end = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
    t = when_local.time().replace(tzinfo=None)
    return when_local.isoweekday() not in hours.days or not start <= t < end
