"""Benchmark of ``distillguard.signals`` on the real prompt corpora.

Prints prompts per CPU-second (one core) for each part (normalise, tokens + MinHash bands, elicitation,
capability area, language, the whole ``analyze_prompts``), rensa against
datasketch (throughput, agreement of the Jaccard estimates with the exact
Jaccard), LSH collision rates (near-duplicates vs unrelated pairs),
the elicitation rate per corpus kind, and the capability-area accuracy per
corpus kind.

    python benchmarks/bench_signals.py [--sample N] [--skip-datasketch]

The corpora directory is ``$DISTILLGUARD_CORPORA``, by default
``../shared/corpora`` relative to the repository root. datasketch is not a
dependency: ``pip install datasketch`` for that part.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from distillguard.signals import capability, elicitation, text

ROOT = Path(__file__).resolve().parent.parent
FILES = ("benign_chat", "harvest_tasks", "app_batch")


def corpora_dir() -> Path:
    return Path(os.environ.get("DISTILLGUARD_CORPORA", ROOT.parent / "shared" / "corpora"))


def load() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name in FILES:
        with open(corpora_dir() / f"{name}.jsonl", encoding="utf-8") as f:
            rows += [dict(json.loads(line), file=name) for line in f]
    return rows


def rate(label: str, n: int, fn: Callable[[], Any], repeat: int = 3) -> Any:
    best, out = float("inf"), None
    for _ in range(repeat):
        # CPU time of this process: robust to other work on the machine.
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    print(f"  {label:34s} {n / best:>10,.0f} prompts/s   ({best * 1e6 / max(n, 1):6.1f} µs/prompt)")
    return out


def bench_parts(texts: list[str]) -> None:
    n = len(texts)
    print(
        f"\n== throughput, one core, {n:,} corpora prompts "
        f"(mean {sum(map(len, texts)) / n:.0f} chars)"
    )
    norm = rate("normalise", n, lambda: text.normalize_array(texts))
    tokens = rate("tokenise", n, lambda: text.tokenize(norm))
    rate("shingle + MinHash + bands", n, lambda: text.minhash_bands(tokens))
    rate(
        "prompt_hash + norm_hash",
        n,
        lambda: (text.hash_texts(texts), text.hash_texts(norm.to_pylist())),
    )
    rate("elicitation (pre-filtered)", n, lambda: elicitation.elicitation_of_array(norm))
    rate(
        "elicitation (no pre-filter)",
        n,
        lambda: elicitation.elicitation_of_array(norm, prefilter=False),
        1,
    )
    raw = text._to_arrow(texts)
    rate("capability area", n, lambda: capability.area_of_tokens(tokens, raw))
    rate("language", n, lambda: capability.language_of_tokens(tokens, norm))
    rate("analyze_prompts (end to end)", n, lambda: text.analyze_prompts(texts))
    table = text.analyze_prompts(texts)
    bands = np.stack(table.column("bands").to_numpy(zero_copy_only=False))
    nh = table.column("norm_hash").to_numpy()
    rate("FingerprintIndex.add (fresh index)", n, lambda: text.FingerprintIndex().add(nh, bands))
    from distillguard.signals.wrappers import WrapperIndex

    rate("WrapperIndex.add (fresh index)", n, lambda: WrapperIndex().add(texts, nh), 1)


def bench_small_batches(texts: list[str], held: int = 40_000, batch: int = 200) -> None:
    """CPU time of one ``PromptCache.lookup`` of ``batch`` new prompts once the
    cache holds ``held`` prompts, and of its parts, over the remaining prompts."""
    import pyarrow as pa

    from distillguard.engine.prompts import PromptCache

    uniq = list(dict.fromkeys(texts))
    held = min(held, len(uniq) - batch)
    cache = PromptCache()
    for i in range(0, held, 5000):
        cache.lookup(pa.array(uniq[i : min(i + 5000, held)]))
    rest = [uniq[i : i + batch] for i in range(held, len(uniq) - batch + 1, batch)]
    print(
        f"\n== small batches: {len(rest)} calls of {batch} new prompts, "
        f"cache holding {held:,} prompts (CPU ms per call)"
    )
    parts = collections.Counter[str]()
    # The parts run on copies of the grown indexes, the same size as the cache's.
    spare_fp, spare_wr = copy.deepcopy(cache.fingerprints), copy.deepcopy(cache.wrappers)
    total = 0.0
    for chunk in rest:
        t0 = time.process_time()
        table = text.analyze_prompts(chunk)
        t1 = time.process_time()
        nh = table.column("norm_hash").to_numpy()
        bands = np.stack(table.column("bands").to_numpy(zero_copy_only=False))
        t2 = time.process_time()
        spare_fp.add(nh, bands)
        t3 = time.process_time()
        spare_wr.add(chunk, nh)
        t4 = time.process_time()
        cache.lookup(pa.array(chunk))
        t5 = time.process_time()
        parts["analyze_prompts"] += t1 - t0
        parts["FingerprintIndex.add"] += t3 - t2
        parts["WrapperIndex.add"] += t4 - t3
        total += t5 - t4
    n = max(len(rest), 1)
    print(
        f"  {'PromptCache.lookup':34s} {total * 1e3 / n:8.2f} ms/call   ({total * 1e6 / (n * batch):6.1f} µs/prompt)"
    )
    for name, secs in parts.items():
        print(
            f"  {name:34s} {secs * 1e3 / n:8.2f} ms/call   ({secs * 1e6 / (n * batch):6.1f} µs/prompt)"
        )


def _shingle_sets(texts: list[str]) -> list[set[int]]:
    tokens = text.tokenize(text.normalize_array(texts))
    flat, offsets = text.shingle_hashes(tokens)
    return [set(flat[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(texts))]


def _edit(t: str, rng: random.Random) -> str:
    """A light edit: change one number, or one word, and the case and spacing."""
    nums = list(re.finditer(r"\d+", t))
    if nums:
        m = rng.choice(nums)
        t = t[: m.start()] + str(int(m.group()) + rng.randint(1, 9)) + t[m.end() :]
    else:
        words = t.split()
        if len(words) > 3:
            words[rng.randrange(len(words))] = "banana"
        t = " ".join(words)
    return t.upper() if rng.random() < 0.3 else t.replace(" ", "  ")


def bench_minhash(texts: list[str], sample: int, skip_datasketch: bool) -> None:
    rng = random.Random(7)
    base = [t for t in texts if len(t.split()) >= 12]
    docs = rng.sample(base, min(sample, len(base)))
    print(f"\n== MinHash: rensa vs datasketch, {len(docs):,} prompts, num_perm={text.NUM_PERM}")
    sets = _shingle_sets(docs)
    flat = np.concatenate([np.fromiter(s, np.uint64, len(s)) for s in sets])
    offsets = np.zeros(len(sets) + 1, dtype=np.uint64)
    np.cumsum([len(s) for s in sets], out=offsets[1:])
    sig_r = rate(
        "rensa R-MinHash (flat hashes)",
        len(docs),
        lambda: text.minhash_signatures(flat, offsets, len(docs)),
    )
    sig_d = None
    if not skip_datasketch:
        try:
            from datasketch import MinHash
        except ImportError:
            print("  datasketch not installed: pip install datasketch")
        else:

            def ds() -> np.ndarray:
                out = []
                for s in sets:
                    m = MinHash(num_perm=text.NUM_PERM, seed=1)
                    m.update_batch([int(x).to_bytes(8, "little") for x in s])
                    out.append(m.hashvalues)
                return np.array(out)

            sig_d = rate("datasketch MinHash (update_batch)", len(docs), ds, 1)
    # agreement on pairs: light edits (high J) and random pairs (J ~ 0)
    edited = [_edit(t, rng) for t in docs[:500]]
    sets_e = _shingle_sets(edited)
    sig_e = text.minhash_signatures(*_flat(sets_e), len(sets_e))
    pairs = [(sets[i], sets_e[i], sig_r[i], sig_e[i]) for i in range(len(sets_e))]
    exact = np.array([len(a & b) / max(len(a | b), 1) for a, b, _, _ in pairs])
    est_r = np.array([np.mean(x == y) for _, _, x, y in pairs])
    print(
        f"  light-edit pairs: exact J mean {exact.mean():.3f}; rensa |est - exact| "
        f"mean {np.abs(est_r - exact).mean():.3f}, "
        f"p95 {np.quantile(np.abs(est_r - exact), 0.95):.3f}"
    )
    if sig_d is not None:
        from datasketch import MinHash

        est_d = []
        for a, b, _, _ in pairs:
            ms = []
            for s in (a, b):
                m = MinHash(num_perm=text.NUM_PERM, seed=1)
                m.update_batch([int(x).to_bytes(8, "little") for x in s])
                ms.append(m)
            est_d.append(ms[0].jaccard(ms[1]))
        d = np.abs(np.array(est_d) - exact)
        print(
            f"  datasketch |est - exact| mean {d.mean():.3f}, p95 {np.quantile(d, 0.95):.3f}; "
            f"rensa vs datasketch |diff| mean {np.abs(np.array(est_d) - est_r).mean():.3f}"
        )


def _flat(sets: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    flat = np.concatenate([np.fromiter(s, np.uint64, len(s)) for s in sets])
    offsets = np.zeros(len(sets) + 1, dtype=np.uint64)
    np.cumsum([len(s) for s in sets], out=offsets[1:])
    return flat, offsets


def bench_collisions(texts: list[str], sample: int) -> None:
    rng = random.Random(11)
    print("\n== LSH collisions (share at least one band)")
    docs = rng.sample(texts, min(sample, len(texts)))
    table = text.analyze_prompts(docs)
    bands = np.stack(table.column("bands").to_numpy(zero_copy_only=False))
    nh = table.column("norm_hash").to_numpy()
    # all pairs among the sample, via band buckets
    owner = np.repeat(np.arange(len(docs)), text.NUM_BANDS)
    keys = bands.ravel()
    live = keys != 0
    pairs: set[tuple[int, int]] = set()
    order = np.argsort(keys[live], kind="stable")
    k, o = keys[live][order], owner[live][order]
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    for s, e in zip(start, np.r_[start[1:], len(k)], strict=True):
        if e - s > 1:
            members = sorted(set(o[s:e].tolist()))
            pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    distinct = len(docs) * (len(docs) - 1) // 2
    same_norm = sum(1 for a, b in pairs if nh[a] == nh[b])
    print(
        f"  unrelated corpora prompts: {len(pairs) - same_norm:,} colliding pairs of {distinct:,} "
        f"({(len(pairs) - same_norm) / distinct:.2e})"
    )
    shown = 0
    for a, b in sorted(pairs)[:200]:
        if nh[a] != nh[b] and shown < 3:
            print(f"    e.g. {docs[a][:70]!r}\n         {docs[b][:70]!r}")
            shown += 1
    base = [t for t in texts if len(t.split()) >= 20]
    originals = rng.sample(base, 2000)
    edited = [_edit(t, rng) for t in originals]
    ta = text.analyze_prompts(originals)
    tb = text.analyze_prompts(edited)
    ba = np.stack(ta.column("bands").to_numpy(zero_copy_only=False))
    bb = np.stack(tb.column("bands").to_numpy(zero_copy_only=False))
    hit = (ba == bb).any(axis=1)
    print(
        f"  light edits (one number/word changed, case/spacing): {hit.mean():.4f} collide "
        f"({hit.sum()}/{len(hit)})"
    )


def bench_elicitation(rows: list[dict[str, str]]) -> None:
    print("\n== elicitation score >= 0.5, per corpus")
    for name in FILES:
        sub = [r for r in rows if r["file"] == name]
        score, kind = elicitation.elicitation([r["text"] for r in sub])
        hi = score >= 0.5
        kinds = collections.Counter(k for k, h in zip(kind, hi, strict=True) if h)
        print(f"  {name:14s} {hi.sum():5d} / {len(sub):5d} ({hi.mean():.2%})  {dict(kinds)}")
        if name == "benign_chat":
            for r, s, k in list(zip(sub, score, kind, strict=True)):
                if s >= 0.5 and k != "step_by_step":
                    print(f"      {s:.2f} {k:22s} {r['text'][:90]!r}")


_TRUTH = (
    ("math_", "math"),
    ("code_", "code"),
    ("summarize:", "summarization"),
    ("classify:", "classification"),
    ("translate", "translation"),
    ("role_prompt:", "roleplay"),
)


def bench_area(rows: list[dict[str, str]]) -> None:
    print("\n== capability area per corpus kind (accuracy where the kind gives the truth)")
    areas = capability.capability_area([r["text"] for r in rows])
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r, a in zip(rows, areas, strict=True):
        by_kind[r["kind"]][a] += 1
    total = correct = 0
    for kind_name in sorted(by_kind):
        c = by_kind[kind_name]
        n = sum(c.values())
        truth = next((t for p, t in _TRUTH if kind_name.startswith(p)), None)
        top = ", ".join(f"{a} {v / n:.0%}" for a, v in c.most_common(4))
        acc = f"{c[truth] / n:6.1%}" if truth else "   -  "
        if truth:
            total += n
            correct += c[truth]
        print(f"  {kind_name:40s} {n:5d}  acc {acc}   {top}")
    print(f"  overall accuracy on kinds with a truth: {correct / total:.1%} ({correct}/{total})")
    chat = [a for r, a in zip(rows, areas, strict=True) if r["kind"].startswith("chat:")]
    conv = sum(a in ("chat", "qa", "writing", "roleplay", "other", "reasoning") for a in chat)
    print(
        f"  chat:* prompts labelled conversational (chat/qa/writing/roleplay/reasoning/other): "
        f"{conv / len(chat):.1%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=3000)
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--only-small", action="store_true", help="only the small-batch figure")
    args = ap.parse_args()
    rows = load()
    texts = [r["text"] for r in rows]
    if args.only_small:
        bench_small_batches(texts)
        return
    bench_parts(texts)
    bench_small_batches(texts)
    bench_minhash(texts, args.sample, args.skip_datasketch)
    bench_collisions(texts, args.sample)
    bench_elicitation(rows)
    bench_area(rows)


if __name__ == "__main__":
    main()
