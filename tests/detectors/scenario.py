"""A small deterministic scenario for detector tests: ordinary users and one
harvesting operation of linked accounts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from distillguard.engine.state import DetectionState

START = 1_775_000_000.0  # 2026-03-31

CHAT = [
    "What is a good recipe for banana bread?",
    "Can you help me write a cover letter for a nursing job?",
    "Explain the difference between a virus and a bacterium.",
    "Give me ideas for a 10 year old's birthday party.",
    "How do I fix a leaking kitchen tap?",
    "Summarise the plot of Pride and Prejudice.",
    "What should I pack for a week in Lisbon in May?",
    "Write a short poem about autumn rain.",
    "Why is the sky blue?",
    "Translate 'good morning, how are you' into Italian.",
    "What are the health benefits of green tea?",
    "Suggest a name for my bakery.",
]


def problems(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b, c = (int(x) for x in rng.integers(2, 500, 3))
        out.append(
            f"A farmer has {a} sheep and buys {b} more each week for {c % 9 + 2} weeks. "
            f"Then {c} sheep are sold. How many sheep are left? (case {i})"
        )
    return out


def scenario() -> tuple[list[dict[str, object]], pa.Table, set[str]]:
    """Rows of events, the account side table, and the operation's accounts."""
    from distillguard.events.schema import ACCOUNT_SCHEMA

    rng = np.random.default_rng(1)
    rows: list[dict[str, object]] = []
    accounts: list[dict[str, object]] = []
    for u in range(40):
        acc = f"user{u:03d}"
        t = START + rng.uniform(0, 3 * 3600)
        for _ in range(int(rng.integers(5, 40))):
            t += float(rng.exponential(900)) if rng.random() < 0.3 else float(rng.uniform(5, 90))
            rows.append(
                {
                    "ts": t,
                    "account_id": acc,
                    "ip": f"81.{u}.{u % 7}.{u % 200 + 1}",
                    "prompt": CHAT[int(rng.integers(len(CHAT)))],
                    "model": "m-large",
                    "user_agent": "Mozilla/5.0",
                    "input_tokens": 20,
                    "output_tokens": 200,
                }
            )
        accounts.append(
            {
                "account_id": acc,
                "created_at": START - 86400 * float(rng.uniform(30, 900)),
                "payment_fingerprint": f"card{u}",
                "email_domain": "mail.example",
                "tier": "payg",
                "verified": False,
            }
        )
    op = {f"op{k:02d}" for k in range(10)}
    qs = problems(2000, 2)
    for k, acc in enumerate(sorted(op)):
        t = START + 600.0 + k
        for j in range(150):
            t += float(rng.uniform(28, 32))
            q = qs[(k * 150 + j) % len(qs)]
            rows.append(
                {
                    "ts": t,
                    "account_id": acc,
                    "ip": f"203.0.113.{k + 1}",
                    "prompt": f"Solve step by step and write out all of your reasoning: {q}",
                    "model": "m-large",
                    "user_agent": "python-httpx/0.27",
                    "tls_fingerprint": "t13d1516h2_8daaf6152771_b0da82dd1658",
                    "input_tokens": 80,
                    "output_tokens": 300,
                    "reasoning_tokens": 1500,
                    "temperature": 0.7,
                    "max_tokens": 4096,
                }
            )
        accounts.append(
            {
                "account_id": acc,
                "created_at": START - 3600 + k * 5,
                "payment_fingerprint": "card-shared",
                "email_domain": "mail.example",
                "tier": "payg",
                "verified": False,
            }
        )
    rows.sort(key=lambda r: float(r["ts"]))  # type: ignore[arg-type]
    cols = {f.name: [a.get(f.name) for a in accounts] for f in ACCOUNT_SCHEMA}
    cols["created_at"] = [int(float(v) * 1e6) for v in cols["created_at"]]  # type: ignore[arg-type]
    table = pa.table(
        {
            f.name: pa.array(cols[f.name], pa.int64() if f.name == "created_at" else f.type)
            for f in ACCOUNT_SCHEMA
        }
    )
    table = table.set_column(
        1, "created_at", table.column("created_at").cast(ACCOUNT_SCHEMA.field("created_at").type)
    )
    return rows, table, op


def build_state(events: pa.Table, accounts: pa.Table) -> DetectionState:
    state = DetectionState()
    state.load_accounts(accounts)
    state.update(events)
    return state
