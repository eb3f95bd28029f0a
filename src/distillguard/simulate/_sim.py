"""The state of one run: shared pools, the account registry and the blocks of
events each population emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distillguard.simulate._config import SimConfig
from distillguard.simulate._corpus import Corpus
from distillguard.simulate._frame import Accounts, Block, ConvPool, TextPool
from distillguard.simulate._net import IpPool
from distillguard.simulate._timing import Clock


def to_us(cfg_time: Any) -> int:
    return int(cfg_time.timestamp() * 1_000_000)


@dataclass(slots=True)
class Sim:
    cfg: SimConfig
    corpus: Corpus
    clock: Clock
    release: int  # us
    texts: TextPool
    convs: ConvPool = field(default_factory=ConvPool)
    ips: IpPool = field(default_factory=lambda: IpPool(np.random.default_rng(0)))
    accounts: list[Accounts] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    n_accounts: int = 0
    n_keys: int = 0
    n_endusers: int = 0
    campaigns: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, cfg: SimConfig, corpus: Corpus) -> Sim:
        clock = Clock(to_us(cfg.start), to_us(cfg.end))
        ips = IpPool(np.random.default_rng([cfg.seed, 1]))
        return cls(cfg, corpus, clock, to_us(cfg.release), TextPool(corpus.texts), ips=ips)

    @property
    def days(self) -> float:
        return self.cfg.days

    def register(self, acc: Accounts) -> Accounts:
        """Give ``acc`` its global account and key indices."""
        acc.first = self.n_accounts
        self.n_accounts += len(acc)
        acc.key_first = self.n_keys + np.r_[0, np.cumsum(acc.keys)[:-1]].astype(np.int64)
        self.n_keys += int(acc.keys.sum())
        self.accounts.append(acc)
        return acc

    def endusers(self, n: int) -> int:
        """Reserve ``n`` end-user ids (routers and apps pass them as ``user``)."""
        first = self.n_endusers
        self.n_endusers += n
        return first

    def emit(self, block: Block) -> None:
        if len(block):
            self.blocks.append(block)

    def campaign(self, name: str, style: str, knobs: dict[str, Any]) -> None:
        self.campaigns.append({"campaign": name, "style": style, "knobs": knobs})
