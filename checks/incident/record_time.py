"""The record's clock: every time in UTC and in the incident's local zone (docs/design.md section 5.3).

Prose gives a moment to the second (``08:09:30 UTC / 09:09:30 CET``), the timeline at full
precision in UTC (``2026-12-01T08:09:30.123456Z / 09:09:30 CET``). The local zone is the config's
``timezone``, else the bastion's local zone. A seat writes it into the journal's meta once
(:func:`remember_timezone`), so ``record DIR`` shows the same local times on any machine, later,
with the config gone. A journal without it falls back to the config its meta names, then to the
local zone of the machine rendering it, and :attr:`RecordZone.note` says so (the header, once).
"""

from __future__ import annotations

import os
import time
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from checks.config.model import zone_problem
from checks.incident.errors import JournalError
from checks.incident.journal import Journal
from checks.observe.sample import iso_utc

META_ZONE = "timezone"            # the journal meta's key: an IANA name
META_ZONE_FROM = "timezone_from"  # ... and where it came from
FROM_CONFIG = "the config's timezone"
FROM_BASTION = "the bastion's local zone"
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"})


@dataclass(frozen=True)
class RecordZone:
    """The zone local times are shown in: its name, the tzinfo (None: this machine's local time, for
    a zone with no IANA name), where it came from, a note to say once, and the incident's first day
    (a prose time on another day says its date)."""

    name: str
    tz: tzinfo | None
    source: str = ""
    note: str = ""
    day: date | None = None

    @property
    def is_utc(self) -> bool:
        return self.tz is timezone.utc or self.name in UTC_NAMES

    def on(self, day: date | None) -> RecordZone:
        return replace(self, day=day)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz) if self.tz is not None else moment.astimezone()

    def _local_words(self, moment: datetime) -> str:
        local = self.local(moment)
        shown_date = local.date() != moment.astimezone(timezone.utc).date()     # the UTC words give it otherwise
        return f"{local:%Y-%m-%d }" * shown_date + f"{local:%H:%M:%S} {local.tzname() or self.name}"

    def clock(self, moment: datetime | None, *, with_date: bool = False) -> str:
        """``08:09:30 UTC / 09:09:30 CET``, to the second; the date too when asked, or when the
        moment is not on the incident's first day."""
        if moment is None:
            return "an unknown time"
        utc = moment.astimezone(timezone.utc)
        with_date = with_date or (self.day is not None and utc.date() != self.day)
        words = f"{utc:%Y-%m-%d }" * with_date + f"{utc:%H:%M:%S} UTC"
        return words if self.is_utc else f"{words} / {self._local_words(moment)}"

    def stamp(self, moment: datetime) -> str:
        """The timeline's time: UTC in full precision, then the local time to the second."""
        return iso_utc(moment) if self.is_utc else f"{iso_utc(moment)} / {self._local_words(moment)}"

    def describe(self) -> str:
        """The header's ``Times:`` line (without its label)."""
        words = "UTC" if self.is_utc else f"UTC, and local time in {self.name}"
        return words + (f" ({self.source})" if self.source else "") + (f"; {self.note}" if self.note else "")

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source or None, "note": self.note or None}


UTC_ZONE = RecordZone("UTC", timezone.utc)


def named_zone(name: str, source: str = "", note: str = "") -> RecordZone:
    return RecordZone(name, timezone.utc if name in UTC_NAMES else ZoneInfo(name), source, note)


def local_zone_name() -> str | None:
    """The IANA name of this machine's local zone: ``TZ``, else /etc/localtime's link, else
    /etc/timezone; None when none of them names a zone."""
    found = []
    if os.environ.get("TZ"):
        found.append(os.environ["TZ"].removeprefix(":"))
    else:
        link = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in link:
            found.append(link.split("/zoneinfo/", 1)[1])
        try:
            found.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError):
            pass
    return next((name for name in found if zone_problem(name) is None), None)


def local_zone(source: str, note: str = "") -> RecordZone:
    name = local_zone_name()
    if name is not None:
        return named_zone(name, source, note)
    return RecordZone(time.tzname[0] or "local time", None, source, note)


def _configured(meta: Mapping[str, str]) -> RecordZone:
    """The zone of the config the journal's meta names, else the local zone with a note."""
    path = meta.get("config")
    if not path:
        return local_zone("this machine's local zone: the journal names neither a timezone nor its config")
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = (getattr(exc, "strerror", None) or "it is not valid TOML").lower()
        return local_zone("this machine's local zone",
                          f"the config {path} cannot be read ({reason}), so local times are this machine's "
                          "and may not be the bastion's")
    cluster = (data.get("clusters") or {}).get(meta.get("cluster", ""))
    value = cluster.get("timezone") if isinstance(cluster, dict) else None
    if value is None:
        return local_zone(f"this machine's local zone: {path} sets no timezone")
    if zone_problem(value) is not None:
        return local_zone("this machine's local zone", f"the config's timezone {value!r} is not a time zone name")
    return named_zone(value, FROM_CONFIG)


def zone_for(meta: Mapping[str, str]) -> RecordZone:
    """The incident's zone: the journal's meta, else its config, else this machine's (said once)."""
    name = meta.get(META_ZONE)
    if name and zone_problem(name) is None:
        return named_zone(name, meta.get(META_ZONE_FROM, ""))
    return _configured(meta)


def remember_timezone(journal: Journal, configured: str | None) -> None:
    """Write the incident's zone into the journal's meta once (the config's, else this bastion's).
    A journal that cannot take it is left as it is: the record then falls back (:func:`zone_for`)."""
    if journal.meta.get(META_ZONE):
        return
    name, source = (configured, FROM_CONFIG) if configured else (local_zone_name(), FROM_BASTION)
    if not name:
        return
    try:
        journal.set_meta(META_ZONE_FROM, source)
        journal.set_meta(META_ZONE, name)
    except JournalError:     # the record falls back, and says so
        return
