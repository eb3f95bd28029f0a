"""Live-loop fixtures: spools written the way the gateway writes them."""

from __future__ import annotations

import time
from pathlib import Path

from distillguard.gateway.spool import SpoolWriter

PROMPTS = (
    "Solve step by step and show all of your reasoning: what is {i} times {j}?",
    "Translate to French: the meeting on day {i} moves to room {j}.",
    "Write a haiku about the number {i} and the colour {j}.",
)


def write_spool(
    folder: Path, n: int, *, start: float | None = None, accounts: int = 20, bad: int = 0
) -> list[str]:
    """Append ``n`` events (and ``bad`` lines that are not events) to the spool
    in ``folder`` as one writer run (one new segment); returns the request ids."""
    t0 = (start if start is not None else time.time() - 3600) * 1000
    writer = SpoolWriter(folder, fsync="never")
    ids: list[str] = []
    existing = sum(1 for _ in folder.glob("*.jsonl"))
    try:
        for k in range(n):
            rid = f"req_{existing}_{k}"
            ids.append(rid)
            writer.append(
                {
                    "ts": int(t0 + k * 250),
                    "request_id": rid,
                    "account_id": f"acct_{k % accounts}",
                    "ip": f"203.0.113.{k % accounts}",
                    "endpoint": "chat.completions",
                    "model": "mock-reasoner",
                    "prompt": PROMPTS[k % 3].format(i=k % 97, j=k % 13),
                    "input_tokens": 20,
                    "output_tokens": 200,
                    "reasoning_tokens": 120,
                    "status": 200,
                    "gateway_action": "allow",
                }
            )
        for k in range(bad):
            writer.append_raw(b'{"ts": "not a time", "account_id": "x%d"}\n' % k)
    finally:
        writer.close()
    return ids
