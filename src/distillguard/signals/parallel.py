"""``analyze_prompts`` on several cores.

Prompt analysis (normalisation, MinHash bands, elicitation, area, language)
is a pure function of each text and the heaviest per-event work of a scan, so
a large batch of new prompts is cut into one share per core: the calling
process analyses the first share while worker processes analyse the others.
The result is the same table, row for row, as one ``analyze_prompts`` call,
plus each text's wrapper segments (``wrappers.analyze_with_segments``): the
per-text part of the wrapper index, which the calling process would
otherwise do alone after the workers finish.

Small batches (a replay step, a live micro-batch, a test) stay in the calling
process: below ``min_parallel`` texts, handing texts to a worker and the
bands back costs more than it saves. The pool starts on the first large batch
and uses the ``forkserver`` start method, so workers never inherit the
caller's threads (DuckDB's among them).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Final

import pyarrow as pa

from distillguard.signals.text import analyze_prompts
from distillguard.signals.wrappers import analyze_with_segments

__all__ = ["MIN_PARALLEL", "PromptAnalyzer", "default_workers"]

#: Fewest new texts in one call worth sharing out.
MIN_PARALLEL: Final = 2048


def default_workers() -> int:
    """Cores this process may use (``DISTILLGUARD_WORKERS`` overrides)."""
    env = os.environ.get("DISTILLGUARD_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, len(os.sched_getaffinity(0)))


class PromptAnalyzer:
    """Calls ``analyze_prompts`` over ``workers`` processes (the caller's
    included). ``close()`` stops the worker processes."""

    def __init__(self, workers: int | None = None, *, min_parallel: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(1, workers)
        self.min_parallel = MIN_PARALLEL if min_parallel is None else min_parallel
        self._pool: ProcessPoolExecutor | None = None
        #: The largest peak resident memory reported by a worker process.
        self.worker_peak_rss_mb = 0.0

    def __call__(self, texts: list[str]) -> pa.Table:
        if self.workers == 1 or len(texts) < self.min_parallel:
            return analyze_prompts(texts)
        size = -(-len(texts) // self.workers)
        shares = [texts[i : i + size] for i in range(0, len(texts), size)]
        pool = self._ensure_pool()
        futures: list[Future[tuple[pa.Table, float]]] = [
            pool.submit(_analyze_share, s) for s in shares[1:]
        ]
        tables = [analyze_with_segments(shares[0])]
        for f in futures:
            table, peak = f.result()
            tables.append(table)
            self.worker_peak_rss_mb = max(self.worker_peak_rss_mb, peak)
        return pa.concat_tables(tables).combine_chunks()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PromptAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers - 1, mp_context=ctx)
        return self._pool


def _analyze_share(texts: list[str]) -> tuple[pa.Table, float]:
    """In a worker: the share's signals and the worker's peak RSS so far."""
    table = analyze_with_segments(texts)
    return table, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
