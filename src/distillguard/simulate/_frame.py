"""The columns a population produces, before they become Arrow tables.

Events are numpy columns of indices into shared pools (texts, conversations,
addresses, clients, models), so a million requests cost a few arrays, not a
million dictionaries. Absent values are ``-1`` (integers) or ``NaN``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields

import numpy as np
import pyarrow as pa

# Task codes: what a request asks for; they drive answer length and reasoning.
(
    CHAT,
    MATH,
    MATH_HARD,
    CODE,
    INSTRUCT,
    SUMMARIZE,
    CLASSIFY,
    EXTRACT,
    TRANSLATE,
    JUDGE,
    ROLE,
    SHORT,
    EMBED,
) = range(13)

EFFORTS = ("low", "medium", "high")
SERVICE_TIERS = ("default", "flex", "priority")


class TextPool:
    """Every distinct text of a run: corpus records first, then built ones."""

    def __init__(self, base: list[str]) -> None:
        self.texts: list[str | None] = list(base)
        self._ids: dict[str, int] = {}

    def add(self, texts: list[str]) -> np.ndarray:
        start = len(self.texts)
        self.texts += texts
        return np.arange(start, start + len(texts), dtype=np.int32)

    def intern(self, text: str) -> int:
        """Index of ``text``, added once (for fixed strings like system prompts)."""
        if text not in self._ids:
            self._ids[text] = len(self.texts)
            self.texts.append(text)
        return self._ids[text]

    def text(self, i: int) -> str:
        t = self.texts[i]
        assert t is not None, "the pool was already moved to Arrow"
        return t

    def to_arrow(self) -> pa.LargeStringArray:
        """All texts as one Arrow array; the Python strings are released on the
        way, so they are never held twice."""
        texts = self.texts

        def drain() -> Iterator[str | None]:
            for i in range(len(texts)):
                value, texts[i] = texts[i], None
                yield value

        # The system allocator can reuse the memory the strings give back.
        out: pa.LargeStringArray = pa.array(
            drain(), pa.large_string(), size=len(texts), memory_pool=pa.system_memory_pool()
        )
        self._ids.clear()
        return out


class ConvPool:
    """Multi-turn conversations: alternating user/assistant turns, user last."""

    def __init__(self) -> None:
        self._turns: list[np.ndarray] = []  # text index per message
        self._lengths: list[np.ndarray] = []  # messages per conversation
        self._n = 0

    def add_many(self, turns: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Add conversations laid out flat; returns their indices."""
        self._turns.append(np.asarray(turns, np.int32))
        self._lengths.append(np.asarray(lengths, np.int32))
        first, self._n = self._n, self._n + len(lengths)
        return np.arange(first, self._n, dtype=np.int32)

    @property
    def turns(self) -> np.ndarray:
        return np.concatenate([np.zeros(0, np.int32), *self._turns])

    @property
    def offsets(self) -> np.ndarray:
        lengths = np.concatenate([np.zeros(0, np.int64), *self._lengths])
        out: np.ndarray = np.r_[0, np.cumsum(lengths, dtype=np.int64)]
        return out

    def __len__(self) -> int:
        return self._n


@dataclass(slots=True)
class Accounts:
    """Accounts of one population (or campaign), by column."""

    population: str
    campaign: list[str | None]
    created_at: np.ndarray  # int64 us
    email_domain: np.ndarray  # object
    payment: np.ndarray  # object, None for none
    country: np.ndarray  # declared country, ISO codes
    org_name: np.ndarray  # object
    parent: np.ndarray  # object
    tier: np.ndarray  # str
    verified: np.ndarray  # bool
    keys: np.ndarray  # int32 number of API keys
    first: int = 0  # global index of the first account
    key_first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.created_at)

    @property
    def index(self) -> np.ndarray:
        return np.arange(self.first, self.first + len(self), dtype=np.int32)

    def pick_keys(self, rng: np.random.Generator, owner: np.ndarray) -> np.ndarray:
        """A key per event of local account ``owner``: mostly the first one."""
        n = self.keys[owner]
        main = rng.random(len(owner)) < 0.75
        k = np.where(main, 0, (rng.random(len(owner)) * n).astype(np.int64))
        keys: np.ndarray = (self.key_first[owner] + k).astype(np.int32)
        return keys


@dataclass(slots=True)
class Block:
    """Events of one population; every array has one entry per event."""

    ts: np.ndarray
    acct: np.ndarray
    key: np.ndarray
    ip: np.ndarray
    client: np.ndarray
    model: np.ndarray
    endpoint: np.ndarray
    text: np.ndarray  # int32 text index, -1 when ``conv`` is used
    conv: np.ndarray  # int32 conversation index or -1
    system: np.ndarray  # int32 text index or -1
    task: np.ndarray  # int8 task code
    elicit: np.ndarray  # bool: asks for the reasoning
    temperature: np.ndarray
    top_p: np.ndarray
    max_tokens: np.ndarray
    n: np.ndarray
    seed: np.ndarray
    stream: np.ndarray  # int8 -1/0/1
    logprobs: np.ndarray  # int8 -1/0/1
    effort: np.ndarray  # int8 -1 or index into EFFORTS
    enduser: np.ndarray  # int64 end-user id (extra field ``user``) or -1
    service_tier: np.ndarray  # int8 -1 or index into SERVICE_TIERS
    status: np.ndarray  # int16 HTTP status
    pop: np.ndarray  # int8 population index (kept out of the events file)

    @staticmethod
    def empty(n: int) -> Block:
        i32 = np.full(n, -1, np.int32)
        i64 = np.full(n, -1, np.int64)
        i8 = np.full(n, -1, np.int8)
        nan = np.full(n, np.nan)
        return Block(
            ts=i64.copy(),
            acct=i32.copy(),
            key=i32.copy(),
            ip=i32.copy(),
            client=i32.copy(),
            model=np.zeros(n, np.int8),
            endpoint=np.zeros(n, np.int8),
            text=i32.copy(),
            conv=i32.copy(),
            system=i32.copy(),
            task=np.zeros(n, np.int8),
            elicit=np.zeros(n, bool),
            temperature=nan.copy(),
            top_p=nan.copy(),
            max_tokens=i64.copy(),
            n=i64.copy(),
            seed=i64.copy(),
            stream=i8.copy(),
            logprobs=i8.copy(),
            effort=i8.copy(),
            enduser=i64.copy(),
            service_tier=i8.copy(),
            status=np.full(n, 200, np.int16),
            pop=np.zeros(n, np.int8),
        )

    def __len__(self) -> int:
        return len(self.ts)


ARRAY_FIELDS = tuple(f.name for f in fields(Block))


def merge_sorted(blocks: list[Block], start: int, end: int, rng: np.random.Generator) -> Block:
    """All events of ``blocks`` in one block, in time order within ``[start,
    end)``: the odd machine run that overshoots the window is folded back into
    its edge hour. The blocks are emptied field by field on the way, so memory
    holds one copy at a time."""
    ts = np.concatenate([b.ts for b in blocks])
    spill = (rng.random(len(ts)) * 3_600_000_000).astype(np.int64)
    ts = np.where(ts >= end, end - 1 - spill, np.where(ts < start, start + spill, ts))
    for b in blocks:
        b.ts = ts[: len(b)]
        ts = ts[len(b) :]
    order = np.argsort(np.concatenate([b.ts for b in blocks]), kind="stable")
    merged: dict[str, np.ndarray] = {}
    for name in ARRAY_FIELDS:
        merged[name] = np.concatenate([getattr(b, name) for b in blocks])[order]
        for b in blocks:
            setattr(b, name, merged[name][:0])
    return Block(**merged)
