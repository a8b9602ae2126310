"""Who may call the web API: server keys (``Authorization: Bearer``, scopes ``chat`` and
``admin``), per-conversation customer tokens for browsers, and rate limits.

Customer tokens are ``v1.<conversation>.<expiry>.<signature>`` with an HMAC-SHA256 signature:
one grants exactly its conversation and nothing else. Keys made with ``frontdesk api-key
create`` are stored as SHA-256 digests only, so the database never holds a usable key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from config.errors import FrontdeskError
from config.settings import WebSettings, web_api_keys

logger = logging.getLogger(__name__)

SCOPES = ("chat", "admin")


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: a server key of a scope, or a customer of one conversation."""

    scope: str  # chat | admin | customer
    key_id: str  # rate-limit bucket: key digest prefix, or the conversation
    conversation: str | None = None

    def may_open(self, conversation: str) -> bool:
        return self.scope in SCOPES or self.conversation == conversation


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(scope: str) -> str:
    return f"fd_{scope}_{secrets.token_urlsafe(24)}"


class Keys:
    """Server keys from the settings plus those stored hashed on the bot's store."""

    def __init__(
        self, settings: WebSettings, stored_scope: Callable[[str], Awaitable[str | None]]
    ) -> None:
        pairs = web_api_keys(settings.api_keys) if settings.api_keys is not None else []
        self._configured = {digest(key): scope for scope, key in pairs}
        self._stored_scope = stored_scope

    async def scope_of(self, key: str) -> str | None:
        d = digest(key)
        for known, scope in self._configured.items():
            if hmac.compare_digest(known, d):
                return scope
        return await self._stored_scope(d)


class Tokens:
    """``secret`` is read by ``load`` when the server starts (building the channel reads no
    store)."""

    def __init__(self, secret: Callable[[], Awaitable[str]], ttl_s: float) -> None:
        self._source = secret
        self._key: bytes | None = None
        self.ttl_s = ttl_s

    async def load(self) -> None:
        if self._key is None:
            self._key = (await self._source()).encode()

    def issue(self, conversation: str, now: float | None = None) -> tuple[str, int]:
        expiry = int((now if now is not None else time.time()) + self.ttl_s)
        body = f"v1.{conversation}.{expiry}"
        return f"{body}.{self._sign(body)}", expiry

    def conversation_of(self, token: str, now: float | None = None) -> str | None:
        """The conversation a valid, unexpired token grants; None otherwise."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[2].isdigit():
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(body), parts[3]):
            return None
        if int(parts[2]) < (now if now is not None else time.time()):
            return None
        return parts[1]

    def _sign(self, body: str) -> str:
        if self._key is None:
            raise RuntimeError("customer tokens used before Tokens.load()")
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class RateLimiter:
    """A token bucket per name: ``per_minute`` requests, bursts up to the same number."""

    def __init__(self, per_minute: int, max_buckets: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, name: str, now: float | None = None) -> float:
        """0 if allowed; otherwise the seconds to wait before the next request may pass."""
        now = now if now is not None else time.monotonic()
        tokens, last = self._buckets.get(name, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._remember(name, (tokens - 1.0, now))
            return 0.0
        self._remember(name, (tokens, now))
        return max(1.0, math.ceil((1.0 - tokens) / self.rate))

    def _remember(self, name: str, state: tuple[float, float]) -> None:
        if len(self._buckets) >= self.max_buckets and name not in self._buckets:
            # Full buckets carry no information: forget those first (bounded memory).
            now = state[1]
            self._buckets = {
                k: (t, at) for k, (t, at) in self._buckets.items()
                if t + (now - at) * self.rate < self.capacity
            }  # fmt: skip
        self._buckets[name] = state


class TokenTaker(Protocol):
    """The store's shared token bucket (``brain.store.base.Store.take_token``)."""

    async def take_token(self, bucket: str, rate_per_s: float, burst: int) -> float: ...


class SharedRateLimiter:
    """``RateLimiter``'s rule, counted on the bot's store, so N replicas behind a load
    balancer allow ``per_minute`` in all, not N times it. Until the store is bound, or while it
    does not answer, this replica counts on its own (``RateLimiter``): a store outage must not
    turn every request into an error."""

    def __init__(self, name: str, per_minute: int) -> None:
        self.name = name
        self.local = RateLimiter(per_minute)
        self._store: TokenTaker | None = None
        self._warned = False

    def use(self, store: TokenTaker) -> None:
        self._store = store

    async def take(self, who: str) -> float:
        """0 if allowed; otherwise the whole seconds to wait (at least 1)."""
        if self._store is None:
            return self.local.take(who)
        try:
            wait = await self._store.take_token(f"web:{self.name}:{who}", self.local.rate,
                                                int(self.local.capacity))  # fmt: skip
        except FrontdeskError as err:
            if not self._warned:
                logger.warning("web rate limit %s counted per replica: %s", self.name, err)
                self._warned = True
            return self.local.take(who)
        self._warned = False
        return 0.0 if wait <= 0 else max(1.0, math.ceil(wait))
