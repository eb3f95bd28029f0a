"""The columns a population produces, before they become Arrow tables.

Events are numpy columns of indices into shared pools (texts, conversations,
addresses, clients, models), so a million requests cost a few arrays, not a
million dictionaries. Absent values are ``-1`` (integers) or ``NaN``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

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
        self.texts: list[str] = list(base)
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

    def nbytes(self) -> np.ndarray:
        return np.fromiter((len(t.encode()) for t in self.texts), np.int64, len(self.texts))


class ConvPool:
    """Multi-turn conversations: alternating user/assistant turns, user last."""

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.turns: list[int] = []  # text index per message

    def add(self, turns: list[int]) -> int:
        self.turns += turns
        self.offsets.append(len(self.turns))
        return len(self.offsets) - 2

    def __len__(self) -> int:
        return len(self.offsets) - 1


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


def concat(blocks: list[Block]) -> Block:
    """All events of ``blocks`` in one block."""
    return Block(
        **{name: np.concatenate([getattr(b, name) for b in blocks]) for name in ARRAY_FIELDS}
    )


def take(block: Block, order: np.ndarray) -> Block:
    return Block(**{name: getattr(block, name)[order] for name in ARRAY_FIELDS})
