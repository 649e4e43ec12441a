"""Slow down password guessing: a few failures per login and address, then a pause."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest

MAX_FAILURES = 5
PAUSE_SECONDS = 15 * 60


class LoginThrottle:
    """Count failed sign-ins per (login, client address) in the cache."""

    def __init__(self, request: HttpRequest, username: str):
        address = request.META.get("REMOTE_ADDR", "")
        digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
        self.key = f"login-fail:{digest}"

    def blocked(self) -> bool:
        return int(cache.get(self.key, 0)) >= MAX_FAILURES

    def fail(self) -> None:
        try:
            cache.incr(self.key)
        except ValueError:
            cache.set(self.key, 1, PAUSE_SECONDS)

    def reset(self) -> None:
        cache.delete(self.key)
