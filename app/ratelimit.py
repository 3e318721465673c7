"""Failed authentication is rate limited per client address (and per presented key), with the
`limits` library: in memory, or in Redis when MOCKINTERVIEW_REDIS_URL is set so that every instance
shares the counts. Past the limit every request from that address gets 429 with Retry-After, right
keys included, until the window has room again."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse, storage, strategies

from app.config import Settings
from app.errors import RateLimited

__all__ = ["FailedAuthLimiter", "ScoringLimiter"]

_NAMESPACE = "mockinterview-auth-failures"
_SCORING = "mockinterview-scoring"


def _retry_in(limiter: strategies.RateLimiter, item: RateLimitItem, namespace: str, who: str) -> int:
    """Whole seconds until the window has room again (at least 1): the Retry-After of a 429."""
    reset = limiter.get_window_stats(item, namespace, who).reset_time
    return max(1, math.ceil(reset - time.time()))


class FailedAuthLimiter:
    def __init__(self, settings: Settings) -> None:
        url = settings.redis_url or "memory://"
        self._storage = storage.storage_from_string(url)
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)
        self._item: RateLimitItem = parse(settings.auth_failure_limit)

    def check(self, *who: str) -> None:
        """429 when any of these (an address, a key fingerprint) has used up its failures."""
        for w in who:
            if not self._limiter.test(self._item, _NAMESPACE, w):
                retry = _retry_in(self._limiter, self._item, _NAMESPACE, w)
                raise RateLimited(
                    f"too many failed authentications from here; retry in {retry} s", retry_after=retry
                )

    def failed(self, *who: str) -> None:
        for w in who:
            self._limiter.hit(self._item, _NAMESPACE, w)


class ScoringLimiter:
    """Scoring work (a typed or spoken answer, POST /v1/score, a transcription) per caller: the key's
    fingerprint, or the client address in local mode. Past `score_rate_limit`, 429 with Retry-After;
    the counts are shared through Redis like the failed-auth ones."""

    def __init__(self, settings: Settings) -> None:
        self._storage = storage.storage_from_string(settings.redis_url or "memory://")
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)
        self._item: RateLimitItem = parse(settings.score_rate_limit)

    def take(self, who: str) -> None:
        if self._limiter.hit(self._item, _SCORING, who):
            return
        retry = _retry_in(self._limiter, self._item, _SCORING, who)
        raise RateLimited(f"too many answers scored from here; retry in {retry} s", retry_after=retry)
