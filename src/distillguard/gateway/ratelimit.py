"""Per-account request and token limits on the ``limits`` library.

Tokens are reserved before the request is forwarded: the estimated prompt plus
``max_tokens`` (or a default), with ``cost=``. A streamed answer can therefore
never take an account past its limit: what it may produce is already counted.
When the answer is complete the reservation is settled against the upstream's
``usage``: with the fixed-window strategy the unused part is given back (a
negative increment of the window's counter, skipped when the window has rolled
over since); with the moving window the library keeps one entry per unit and
cannot take entries back, so the unused part stays counted until it leaves the
window — conservative, never generous. Tokens beyond the reservation (a prompt
longer than estimated) are charged on top.

The counters live in the storage of ``storage`` (``memory://`` in process,
``redis://…`` shared by every gateway), so a limit holds across processes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from distillguard._exceptions import DistillGuardError
from distillguard.gateway.config import RateLimitConfig


class LimiterUnavailable(DistillGuardError):
    """The counter storage cannot be reached."""


@dataclass(frozen=True, slots=True)
class Refused:
    kind: str  # "requests" or "tokens"
    retry_after: float


@dataclass(frozen=True, slots=True)
class Reservation:
    account_id: str
    tokens: int
    token_item: RateLimitItem | None


def make_storage(uri: str) -> Storage:
    """An async ``limits`` storage for ``memory://`` or ``redis://…`` (via redis-py)."""
    options: dict[str, float | str | bool] = {}
    if uri.startswith(("redis", "rediss")):
        options = {
            "implementation": "redispy",
            "socket_connect_timeout": 0.25,
            "socket_timeout": 0.5,
        }
    try:
        storage = storage_from_string("async+" + uri, wrap_exceptions=True, **options)
    except Exception as exc:  # limits raises ConfigurationError and others
        raise DistillGuardError(f"rate limit storage {uri!r}: {exc}") from exc
    assert isinstance(storage, Storage)
    return storage


class AccountLimiter:
    """``acquire`` before forwarding, ``settle`` after the answer."""

    def __init__(self, config: RateLimitConfig, storage: Storage | None = None) -> None:
        self.config = config
        self.storage = storage or make_storage(config.storage)
        moving = config.strategy == "moving-window"
        self.limiter = (MovingWindowRateLimiter if moving else FixedWindowRateLimiter)(self.storage)
        self._refunds = not moving
        self._items: dict[tuple[str, int], RateLimitItem] = {}

    def _item(self, kind: str, per_minute: int) -> RateLimitItem:
        key = (kind, per_minute)
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = RateLimitItemPerMinute(
                per_minute, namespace=f"{self.config.key_prefix}:{kind}"
            )
        return item

    async def acquire(
        self, account_id: str, rpm: int | None, tpm: int | None, tokens: int
    ) -> Reservation | Refused:
        """Count one request and reserve ``tokens``; ``Refused`` when a limit is
        reached (nothing stays counted then). Raises ``LimiterUnavailable``."""
        try:
            if rpm is not None:
                item = self._item("requests", rpm)
                if not await self.limiter.hit(item, account_id):
                    await self._undo(item, account_id, 1)
                    return Refused("requests", await self._retry_after(item, account_id))
            if tpm is None:
                return Reservation(account_id, 0, None)
            titem = self._item("tokens", tpm)
            cost = min(
                tokens, tpm
            )  # a request larger than the whole limit still gets through alone
            if not await self.limiter.hit(titem, account_id, cost=cost):
                await self._undo(titem, account_id, cost)
                if rpm is not None:
                    await self._undo(self._item("requests", rpm), account_id, 1)
                return Refused("tokens", await self._retry_after(titem, account_id))
            return Reservation(account_id, cost, titem)
        except (StorageError, OSError) as exc:
            raise LimiterUnavailable(f"rate limit storage unreachable: {exc}") from exc

    async def settle(self, reservation: Reservation, used_tokens: int | None) -> None:
        """Give back the unused reservation, or charge what went beyond it."""
        item = reservation.token_item
        if item is None or used_tokens is None:
            return
        delta = used_tokens - reservation.tokens
        try:
            if delta > 0:
                await self.limiter.hit(item, reservation.account_id, cost=delta)
            elif delta < 0:
                await self._undo(item, reservation.account_id, -delta)
        except (StorageError, OSError) as exc:
            raise LimiterUnavailable(f"rate limit storage unreachable: {exc}") from exc

    async def _undo(self, item: RateLimitItem, account_id: str, amount: int) -> None:
        """Take ``amount`` back from a fixed window, never below zero and never
        from a window opened after the reservation."""
        if not self._refunds:
            return
        key = item.key_for(account_id)
        current = await self.storage.get(key)
        amount = min(amount, current)
        if amount > 0:
            await self.storage.incr(key, item.get_expiry(), amount=-amount)

    async def _retry_after(self, item: RateLimitItem, account_id: str) -> float:
        stats = await self.limiter.get_window_stats(item, account_id)
        return max(1.0, stats.reset_time - time.time())

    async def close(self) -> None:
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()
