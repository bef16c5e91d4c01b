"""Counting failed attempts (passwords, codes) and refusing more once a limit is reached.

Only failures count; once a counter is full, even the right answer waits until its window
ends. Counters are the limiter's (judging.extensions.limiter): in Redis when REDIS_URL is set,
shared by every process, else in memory. Each counter has a scope ("login-account",
"reauthenticate"...) and a key (never an email address in clear: callers pass keyed hashes
or ids).
"""

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from limits import parse

from judging.extensions import limiter


@dataclass(frozen=True)
class Counter:
    scope: str
    key: str
    # The name of the setting that holds the limit, e.g. "5 per 15 minutes".
    limit: str = "LOGIN_LIMIT_PER_ACCOUNT"

    def _arguments(self):
        item = parse(current_app.config[self.limit])
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "judging"
        return item, prefix, self.scope, self.key


def seconds_to_wait(counters: Iterable[Counter]) -> int:
    """0 if each counter allows another attempt, else the seconds until all of them do."""
    wait = 0
    for counter in counters:
        item, *identifiers = counter._arguments()
        if not limiter.limiter.test(item, *identifiers):
            reset_at = limiter.limiter.get_window_stats(item, *identifiers).reset_time
            wait = max(wait, math.ceil(reset_at - time.time()), 1)
    return wait


def count_failure(counters: Iterable[Counter]) -> None:
    for counter in counters:
        item, *identifiers = counter._arguments()
        limiter.limiter.hit(item, *identifiers)


def in_words(seconds: int) -> str:
    """'15 minutes', '1 minute': a wait as a person says it (rounded up)."""
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
