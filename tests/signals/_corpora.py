"""Reading the real corpora in the signal tests."""

from __future__ import annotations

import json
import random
from pathlib import Path


def load(corpora: Path, name: str, kind_prefix: str = "") -> list[str]:
    with open(corpora / f"{name}.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r["text"] for r in rows if r["kind"].startswith(kind_prefix)]


def sample(texts: list[str], n: int, seed: int = 0) -> list[str]:
    return random.Random(seed).sample(texts, min(n, len(texts)))
