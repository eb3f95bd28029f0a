"""Prompt corpora: the embedded subset, or the full corpora folder.

A corpus is three files of ``{text, source, kind}`` records (``benign_chat``,
``harvest_tasks``, ``app_batch``). ``kind`` is ``<type>:<dataset>[/<subset>]``;
the simulator groups records by type into coarse groups and keeps datasets in
file order, so a campaign can walk a dataset from start to end.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import orjson

from distillguard._exceptions import ConfigError

FILES = ("benign_chat", "harvest_tasks", "app_batch")

#: kind type -> group
GROUPS = {
    "chat": "chat",
    "search_query": "query",
    "role_prompt": "role",
    "redteam": "redteam",
    "math_word": "math",
    "math_mc": "math",
    "math_competition": "math_hard",
    "math_exam": "math_hard",
    "code_completion": "code",
    "code_problem": "code",
    "code_instruct": "code",
    "instruct_constraint": "instruct",
    "instruct_seed": "instruct",
    "instruct_generated": "instruct",
    "summarize": "batch",
    "classify": "batch",
    "qa_over_doc": "batch",
    "paraphrase": "batch",
    "classify_raw": "raw",
    "translate_source_raw": "raw",
    "document_raw": "raw",
}


@dataclass(slots=True)
class Corpus:
    """All records of one corpus, in file order."""

    origin: str
    texts: list[str]
    kinds: np.ndarray  # full kind string per record
    groups: np.ndarray  # coarse group per record
    datasets: np.ndarray  # dataset name per record
    _index: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def group(self, *names: str) -> np.ndarray:
        """Indices of the records in any of the groups ``names``."""
        return self._lookup("group", names, self.groups)

    def dataset(self, *names: str) -> np.ndarray:
        """Indices of the records of the datasets ``names`` (file order)."""
        return self._lookup("dataset", names, self.datasets)

    def _lookup(self, what: str, names: tuple[str, ...], column: np.ndarray) -> np.ndarray:
        key = (what, "|".join(names))
        if key not in self._index:
            self._index[key] = np.flatnonzero(np.isin(column, names)).astype(np.int32)
        return self._index[key]

    def pick(
        self, rng: np.random.Generator, pool: np.ndarray, n: int, zipf: float = 0.0
    ) -> np.ndarray:
        """``n`` records of ``pool``; with ``zipf`` > 0 some are far more popular."""
        if len(pool) == 0:
            raise ConfigError(
                f"corpus {self.origin} has no records for a population that needs them"
            )
        if zipf <= 0:
            return pool[rng.integers(0, len(pool), n)]
        rank = np.arange(1, len(pool) + 1, dtype=np.float64) ** -zipf
        order = rng.permutation(len(pool))
        return pool[order[rng.choice(len(pool), size=n, p=rank / rank.sum())]]


def _records(data: bytes, name: str) -> Iterator[tuple[str, str]]:
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            rec = orjson.loads(line)
            yield str(rec["text"]), str(rec["kind"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"corpus file {name} has a malformed record: {exc}") from exc


def _read(folder: Path | None) -> tuple[str, list[tuple[str, str]]]:
    rows: list[tuple[str, str]] = []
    if folder is None:
        data = resources.files("distillguard.simulate") / "data"
        for name in FILES:
            rows += _records(gzip.decompress((data / f"{name}.jsonl.gz").read_bytes()), name)
        return "embedded", rows
    for name in FILES:
        path = folder / f"{name}.jsonl"
        if not path.exists():
            path = folder / f"{name}.jsonl.gz"
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read corpus file {path}: {exc}") from exc
        rows += _records(gzip.decompress(raw) if path.suffix == ".gz" else raw, str(path))
    return str(folder), rows


@cache
def load_corpus(folder: Path | None = None) -> Corpus:
    """The embedded subset (``folder=None``) or the corpora in ``folder``."""
    origin, rows = _read(folder)
    kinds = np.asarray([k for _, k in rows])
    types = np.asarray([k.split(":", 1)[0] for _, k in rows])
    datasets = np.asarray([k.split(":", 1)[-1].split("/", 1)[0] for _, k in rows])
    groups = np.asarray([GROUPS.get(t, "chat") for t in types])
    return Corpus(origin, [t for t, _ in rows], kinds, groups, datasets)
