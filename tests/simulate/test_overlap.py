"""No single field separates attack traffic from benign traffic.

For every field below, the values (or the range) seen in attack traffic must
meet those of benign traffic, and most attack requests (accounts) must carry a
value that benign traffic carries too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from distillguard.engine.prompts import SystemInstructions
from distillguard.simulate import SimResult

Column = Callable[[SimResult], list[object]]


def _param(name: str) -> Column:
    return lambda r: pc.struct_field(r.events.column("params"), name).to_pylist()


def _event(name: str) -> Column:
    return lambda r: r.events.column(name).to_pylist()


def _hour(r: SimResult) -> list[object]:
    us = r.events.column("ts").cast(pa.int64()).to_numpy()
    return (us // 3_600_000_000 % 24).tolist()


def _turns(r: SimResult) -> list[object]:
    lengths = pc.list_value_length(r.events.column("messages")).fill_null(1)
    return pc.add(pc.multiply(pc.divide(pc.subtract(lengths, 1), 2), 1), 0).to_pylist()


EVENT_FIELDS: dict[str, Column] = {
    "user_agent": _event("user_agent"),
    "tls_fingerprint": _event("tls_fingerprint"),
    "model": _event("model"),
    "endpoint": _event("endpoint"),
    "status": _event("status"),
    "temperature": _param("temperature"),
    "max_tokens": _param("max_tokens"),
    "reasoning_effort": _param("reasoning_effort"),
    "n": _param("n"),
    "stream": _param("stream"),
    "logprobs": _param("logprobs"),
    "hour_of_day": _hour,
    "hosting_ip": lambda r: r.truth.column("ip_hosting").to_pylist(),
    "ip_country": lambda r: r.truth.column("ip_country").to_pylist(),
    "user_turns": _turns,
    "has_system_prompt": lambda r: pc.is_valid(r.events.column("system_prompt")).to_pylist(),
    "system_prompt_elicits": lambda r: (
        SystemInstructions().signals(r.events.column("system_prompt"))[0] >= 0.5
    ).tolist(),
    "has_user_field": lambda r: pc.is_valid(r.events.column("user")).to_pylist(),
    "has_messages": lambda r: pc.is_valid(r.events.column("messages")).to_pylist(),
}
ACCOUNT_FIELDS = ("tier", "verified", "email_domain", "declared_country")
NUMERIC_FIELDS = ("input_tokens", "output_tokens", "reasoning_tokens", "latency_ms")


def _malicious(r: SimResult) -> np.ndarray:
    return r.truth.column("malicious").to_numpy(zero_copy_only=False)


def _coverage(values: list[object], attack: np.ndarray) -> tuple[set[object], float]:
    v = np.asarray(values, dtype=object)
    benign = set(v[~attack].tolist())
    seen = [x in benign for x in v[attack].tolist()]
    return benign & set(v[attack].tolist()), float(np.mean(seen))


@pytest.mark.parametrize("field", list(EVENT_FIELDS))
def test_event_field_overlaps(demo: SimResult, field: str) -> None:
    common, coverage = _coverage(EVENT_FIELDS[field](demo), _malicious(demo))
    assert common, f"{field}: attack and benign values are disjoint"
    assert coverage >= 0.85, f"{field}: only {coverage:.0%} of attack requests share a value"


@pytest.mark.parametrize("field", ACCOUNT_FIELDS)
def test_account_field_overlaps(demo: SimResult, field: str) -> None:
    acc = demo.accounts.join(demo.labels, "account_id")
    attack = acc.column("malicious").to_numpy(zero_copy_only=False)
    common, coverage = _coverage(acc.column(field).to_pylist(), attack)
    assert common and coverage >= 0.8, f"{field}: {coverage:.0%}"


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_numeric_ranges_overlap(demo: SimResult, field: str) -> None:
    values = demo.events.column(field).to_numpy(zero_copy_only=False).astype(float)
    attack = _malicious(demo)
    a, b = values[attack], values[~attack]
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    # The middle of the attack distribution lies inside the benign range.
    lo, hi = np.percentile(b, [1, 99])
    assert lo <= np.percentile(a, 25) and np.percentile(a, 75) <= hi


def _account_stats(r: SimResult) -> dict[str, np.ndarray]:
    ev = r.events.select(["account_id", "ts"]).combine_chunks()
    order = pc.sort_indices(ev, [("account_id", "ascending"), ("ts", "ascending")])
    ev = ev.take(order)
    acct = ev.column("account_id").to_numpy(zero_copy_only=False)
    ts = ev.column("ts").cast(pa.int64()).to_numpy() / 1e6
    starts = np.flatnonzero(np.r_[True, acct[1:] != acct[:-1]])
    names = acct[starts]
    counts = np.diff(np.r_[starts, len(acct)])
    cv = np.full(len(starts), np.nan)
    for i, (s, c) in enumerate(zip(starts, counts, strict=True)):
        if c >= 5:
            gaps = np.diff(ts[s : s + c])
            cv[i] = gaps.std() / max(gaps.mean(), 1e-9)
    created = dict(
        zip(
            r.accounts.column("account_id").to_pylist(),
            r.accounts.column("created_at").cast(pa.int64()).to_numpy() / 1e6,
            strict=True,
        )
    )
    age = np.asarray([ts[s] - created[a] for s, a in zip(starts, names, strict=True)]) / 86400
    label = dict(
        zip(
            r.labels.column("account_id").to_pylist(),
            r.labels.column("malicious").to_pylist(),
            strict=True,
        )
    )
    return {
        "requests": counts.astype(float),
        "gap_cv": cv,
        "age_days": age,
        "attack": np.asarray([label[a] for a in names]),
    }


@pytest.mark.parametrize("stat", ["requests", "gap_cv", "age_days"])
def test_account_behaviour_ranges_overlap(demo: SimResult, stat: str) -> None:
    """Most attack accounts fall inside the range of benign accounts."""
    s = _account_stats(demo)
    values, attack = s[stat], s["attack"]
    a, b = values[attack & ~np.isnan(values)], values[~attack & ~np.isnan(values)]
    lo, hi = np.percentile(b, [1, 99])
    inside = float(np.mean((a >= lo) & (a <= hi)))
    assert inside >= 0.6, f"{stat}: {inside:.0%} of attack accounts in benign {lo:.2f}..{hi:.2f}"


def test_system_instructions_ask_for_reasoning_on_both_sides(demo: SimResult) -> None:
    """Tutoring apps and personas ask for step-by-step reasoning in their
    system instructions too: such an instruction is no attack tell."""
    elicits = SystemInstructions().signals(demo.events.column("system_prompt"))[0] >= 0.5
    attack = _malicious(demo)
    assert elicits[attack].sum() > 0
    assert elicits[~attack].sum() > 0.2 * elicits[attack].sum()


def test_invisible_characters_occur_on_both_sides(demo: SimResult) -> None:
    """Operations sprinkle invisible characters into their prompts to make
    each copy differ; ordinary users paste text that carries them (zero-width
    spaces, soft hyphens, byte-order marks from web pages and documents)."""
    from distillguard.signals.text import strip_invisible

    prompts = demo.events.column("prompt").to_pylist()
    carries = np.array([bool(t) and strip_invisible(t) != t for t in prompts])
    attack = _malicious(demo)
    assert carries[attack].sum() > 0 and carries[~attack].sum() > 0
