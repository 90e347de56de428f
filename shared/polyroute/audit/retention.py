"""When the writers drop stored prompt/completion text past its retention: inside a commit, at most
hourly. The chain holds digests only, so purging text leaves it intact."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from polyroute.audit.event import format_time

PURGE_EVERY_S = 3600.0


class Retention:
    """The purge schedule of one writer (`days`: how long content is kept; None: forever)."""

    def __init__(self, days: int | None) -> None:
        self.days = days
        self._purged_at = 0.0

    def take(self) -> str | None:
        """When a purge is due: the `format_time` cutoff to delete content stored before, the purge
        counted as done; else None."""
        now = time.monotonic()
        if self.days is None or (self._purged_at and now - self._purged_at < PURGE_EVERY_S):
            return None
        self._purged_at = now
        return format_time(datetime.now(UTC) - timedelta(days=self.days))
