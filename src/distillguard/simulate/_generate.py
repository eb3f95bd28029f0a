"""``generate``: every population in turn, then one sorted set of tables."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.simulate import _tables
from distillguard.simulate import _world as world
from distillguard.simulate._catalog import POPULATIONS
from distillguard.simulate._config import SimConfig
from distillguard.simulate._conv import as_messages
from distillguard.simulate._corpus import load_corpus
from distillguard.simulate._finish import finish
from distillguard.simulate._frame import Block, merge_sorted
from distillguard.simulate._ids import hex_ids, opaque_ids
from distillguard.simulate._pop_attack import bulk_script, paraphrase, proxy_swarm
from distillguard.simulate._pop_business import enterprise_batch, eval_company
from distillguard.simulate._pop_crowds import classroom, viral_prompt
from distillguard.simulate._pop_people import (
    chat_user,
    developer,
    multilingual_student,
    multilingual_user,
)
from distillguard.simulate._pop_services import cloud_app, research_partner, router
from distillguard.simulate._pop_stealth import (
    low_and_slow,
    model_pivot,
    multilingual_coercion,
    priming_coercion,
    rubric_grading,
    system_coercion,
)
from distillguard.simulate._sim import Sim

Rng = np.random.Generator
BENIGN_BUILDERS: dict[str, Callable[[Sim, Rng, int, int], None]] = {
    "chat_user": chat_user,
    "developer": developer,
    "multilingual_user": multilingual_user,
    "multilingual_student": multilingual_student,
    "eval_company": eval_company,
    "enterprise_batch": enterprise_batch,
    "classroom": classroom,
    "viral_prompt": viral_prompt,
    "router": router,
    "cloud_app": cloud_app,
    "research_partner": research_partner,
}
ATTACK_BUILDERS: dict[str, Callable[[Sim, Rng, int, int, int], None]] = {
    "bulk_script": bulk_script,
    "proxy_swarm": proxy_swarm,
    "paraphrase": paraphrase,
    "low_and_slow": low_and_slow,
    "multilingual_coercion": multilingual_coercion,
    "system_coercion": system_coercion,
    "priming_coercion": priming_coercion,
    "model_pivot": model_pivot,
    "rubric_grading": rubric_grading,
}
NAMES = list(POPULATIONS)


@dataclass(slots=True)
class SimResult:
    """One simulated provider.

    ``events`` holds the raw request records sorted by ``ts`` (string columns
    with many repeats, such as ``prompt``, are dictionary-encoded);
    ``accounts`` follows ``ACCOUNT_SCHEMA`` and ``labels`` ``LABEL_SCHEMA``.
    ``truth`` is aligned with ``events`` row by row (population, malicious,
    hosting address, address country): ground truth per request, never written
    to the events file.
    """

    events: pa.Table
    accounts: pa.Table
    labels: pa.Table
    manifest: dict[str, Any]
    truth: pa.Table


def _rng(cfg: SimConfig, name: str) -> Rng:
    return np.random.default_rng([cfg.seed, zlib.crc32(name.encode())])


def _populate(sim: Sim) -> None:
    cfg = sim.cfg
    for pop, (name, info) in enumerate(POPULATIONS.items()):
        budget = round(cfg.n_events * info.share * cfg.scale_of(name))
        if budget < 1:
            continue
        if info.malicious:
            if cfg.campaigns_of(name) > 0:
                ATTACK_BUILDERS[name](sim, _rng(cfg, name), budget, pop, cfg.campaigns_of(name))
        else:
            BENIGN_BUILDERS[name](sim, _rng(cfg, name), budget, pop)


def generate(cfg: SimConfig) -> SimResult:
    """Simulate the traffic ``cfg`` describes."""
    sim = Sim.create(cfg, load_corpus(cfg.corpora))
    _populate(sim)
    rng = _rng(cfg, "finish")
    block = merge_sorted(sim.blocks, sim.clock.start, sim.clock.end, rng)
    sim.blocks.clear()
    # Some gateways log single-turn chat requests as a one-message list.
    chat = np.isin(block.endpoint, (world.EP_CHAT, world.EP_MESSAGES))
    block.text, block.conv = as_messages(sim, rng, block.text, block.conv, 0.25, chat)
    texts = sim.texts.to_arrow()
    measured = finish(sim, rng, block, pc.binary_length(texts).to_numpy().astype(np.int64))
    n_events = len(block)
    ids = {
        "account": opaque_ids(rng, sim.n_accounts, "org_", 24),
        "key": opaque_ids(rng, max(sim.n_keys, 1), "key_", 20),
        "request": opaque_ids(rng, n_events, "req_", 24),
        "enduser": hex_ids(rng, max(sim.n_endusers, 1), "user-", 16),
        "no_ua": rng.random(n_events) < 0.002,
        "no_ja4": rng.random(n_events) < 0.03,
    }
    ips = pa.array(sim.ips.addresses, pa.string())
    events = _tables.events(block, ids, texts, sim.convs, ips, measured)
    per_account = np.bincount(block.acct, minlength=sim.n_accounts)
    first_ts = np.full(sim.n_accounts, np.iinfo(np.int64).max)
    seen, first = np.unique(block.acct, return_index=True)
    first_ts[seen] = block.ts[first]
    accounts, labels = _tables.accounts(
        sim.accounts, ids["account"], per_account > 0, first_ts, rng
    )
    truth = _truth(sim, block)
    manifest = _manifest(sim, block, labels, per_account, ids["account"], accounts.num_rows)
    return SimResult(events, accounts, labels, manifest, truth)


def _truth(sim: Sim, block: Block) -> pa.Table:
    hosting = np.asarray(sim.ips.hosting, bool)
    country = pa.array(sim.ips.country, pa.string())
    malicious = np.asarray([POPULATIONS[n].malicious for n in NAMES])
    return pa.table(
        {
            "population": _tables.coded(block.pop, NAMES),
            "malicious": pa.array(malicious[block.pop]),
            "ip_hosting": pa.array(hosting[block.ip]),
            "ip_country": _tables.coded(block.ip, country),
        }
    )


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def _manifest(
    sim: Sim,
    block: Block,
    labels: pa.Table,
    per_account: np.ndarray,
    account_ids: pa.Array,
    n_accounts: int,
) -> dict[str, Any]:
    requests = np.bincount(block.pop, minlength=len(NAMES))
    index = {a: i for i, a in enumerate(account_ids.to_pylist())}
    pops: dict[str, dict[str, Any]] = {}
    camps: dict[str, dict[str, Any]] = {c["campaign"]: dict(c) for c in sim.campaigns}
    for row in labels.to_pylist():
        p = pops.setdefault(row["population"], {"accounts": 0, "campaigns": set()})
        p["accounts"] += 1
        if row["campaign"]:
            p["campaigns"].add(row["campaign"])
            c = camps.setdefault(row["campaign"], {"campaign": row["campaign"]})
            c["accounts"] = c.get("accounts", 0) + 1
            c["requests"] = c.get("requests", 0) + int(per_account[index[row["account_id"]]])
    populations = [
        {
            "population": name,
            "malicious": info.malicious,
            "hard_negative": info.hard_negative,
            "accounts": pops[name]["accounts"],
            "requests": int(requests[i]),
            "campaigns": sorted(pops[name]["campaigns"]),
            "about": info.doc,
        }
        for i, (name, info) in enumerate(POPULATIONS.items())
        if name in pops
    ]
    cfg = sim.cfg
    return {
        "generator": "distillguard.simulate/1",
        "seed": cfg.seed,
        "start": _iso(sim.clock.start),
        "end": _iso(sim.clock.end),
        "events": len(block),
        "accounts": n_accounts,
        "new_model": world.MODEL_NAMES[world.NEW_MODEL],
        "new_model_release": _iso(sim.release),
        "corpora": sim.corpus.origin,
        "populations": populations,
        "campaigns": sorted(
            (c for c in camps.values() if c.get("accounts")), key=lambda c: str(c["campaign"])
        ),
        "config": cfg.model_dump(mode="json"),
    }
