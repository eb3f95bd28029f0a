"""``analyze_prompts`` on several cores.

Prompt analysis (normalisation, MinHash bands, elicitation, area, language)
is a pure function of each text and the heaviest per-event work of a scan, so
a large batch of new prompts is cut into one share per core: the calling
process analyses the first share while worker processes analyse the others.
The shares follow each process's measured speed (characters per second, an
average over the calls so far): the calling process does more than analyse
(it reads input and fills the indexes), and a worker shares the cores with
it, so equal shares leave one side waiting for the other.
The result is the same table, row for row, as one ``analyze_prompts`` call,
plus each text's wrapper segments (``wrappers.analyze_with_segments``): the
per-text part of the wrapper index, which the calling process would
otherwise do alone after the workers finish.

A caller that knows its next batch early (``scan`` reading its input,
``replay`` its coming steps) can :meth:`PromptAnalyzer.submit` it instead: the
worker processes analyse it, in the background, while the calling process
goes on with the batch before (filling the indexes, merging the state,
detecting), and the result is collected when it is needed. The batch goes
out in chunks of about ``CHUNK_TEXTS`` texts; a caller that comes for the
result before the workers have reached the last chunks takes those back and
analyses them itself, from the last one down, instead of waiting idle.

Small batches (a replay step, a live micro-batch, a test) stay in the calling
process: below ``min_parallel`` texts, handing texts to a worker and the
bands back costs more than it saves. The pool starts on the first large batch
and uses the ``forkserver`` start method, so workers never inherit the
caller's threads (DuckDB's among them).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from distillguard.signals.text import analyze_prompts
from distillguard.signals.wrappers import analyze_with_segments

__all__ = ["MIN_PARALLEL", "Pending", "PromptAnalyzer", "default_workers"]

#: Fewest new texts in one call worth sharing out.
MIN_PARALLEL: Final = 2048
#: Texts in one chunk of a batch submitted in the background: small enough
#: that the caller can take back the chunks the workers have not started.
CHUNK_TEXTS: Final = 2048


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
        #: Characters per second analysed by this process and by a worker
        #: (unknown before their first large share).
        self.speed: list[float | None] = [None, None]

    def __call__(self, texts: list[str]) -> pa.Table:
        if self.workers == 1 or len(texts) < self.min_parallel:
            return analyze_prompts(texts)
        chars = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)) + 1)
        cuts = self._cuts(chars)
        pool = self._ensure_pool()
        spans = list(itertools.pairwise(cuts[1:]))
        futures: list[Future[tuple[pa.Table, float, float]]] = [
            pool.submit(_analyze_share, texts[a:b]) for a, b in spans
        ]
        t0 = time.perf_counter()
        tables = [analyze_with_segments(texts[: cuts[1]])]
        self._learn(0, _span(chars, 0, cuts[1]), time.perf_counter() - t0)
        for f, (a, b) in zip(futures, spans, strict=True):
            table, peak, seconds = f.result()
            tables.append(table)
            self.worker_peak_rss_mb = max(self.worker_peak_rss_mb, peak)
            self._learn(1, _span(chars, a, b), seconds)
        return pa.concat_tables(tables).combine_chunks()

    def submit(self, texts: list[str]) -> Pending | None:
        """Analyse ``texts`` on the worker processes, in the background, in
        one share per worker; ``None`` when there is no worker to give them
        to (one process, or too few texts to be worth it)."""
        if self.workers == 1 or len(texts) < self.min_parallel:
            return None
        chars = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)) + 1)
        shares = max(self.workers - 1, -(-len(texts) // CHUNK_TEXTS))
        bounds = np.arange(1, shares) / shares * chars[-1]
        cuts = [0, *np.searchsorted(chars, bounds, side="right").tolist(), len(texts)]
        chunks = [texts[a:b] for a, b in itertools.pairwise(cuts) if b > a]
        pool = self._ensure_pool()
        return Pending(self, [(c, pool.submit(_analyze_share, c)) for c in chunks])

    def start(self) -> None:
        """Start the worker processes now, in the background, for a caller
        that knows a large batch is coming: starting one (a fresh
        interpreter importing the analysis) takes seconds, which the first
        batch would otherwise wait for."""
        if self.workers > 1:
            pool = self._ensure_pool()
            for _ in range(self.workers - 1):
                pool.submit(_analyze_share, ["Warm up: step by step."])

    def _cuts(self, chars: npt.NDArray[np.int64]) -> list[int]:
        """Where the shares start and end (``len(texts)`` last): this
        process's share first, each share's characters in proportion to its
        process's speed."""
        own, other = self.speed
        if own is None or other is None:
            own = other = 1.0
        weights = np.array([own] + [other] * (self.workers - 1))
        bounds = np.cumsum(weights / weights.sum())[:-1] * chars[-1]
        inner = np.searchsorted(chars, bounds, side="right").tolist()
        return [0, *inner, len(chars)]

    def _learn(self, who: int, chars: int, seconds: float) -> None:
        """Average in one share's speed (texts of a few hundred characters
        and more only: a tiny share says little)."""
        if chars >= 10_000 and seconds > 0:
            old = self.speed[who]
            now = chars / seconds
            self.speed[who] = now if old is None else 0.5 * old + 0.5 * now

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


class Pending:
    """A batch being analysed in the background (:meth:`PromptAnalyzer.submit`),
    as chunks of texts, each with its future."""

    def __init__(
        self,
        owner: PromptAnalyzer,
        chunks: list[tuple[list[str], Future[tuple[pa.Table, float, float]]]],
    ) -> None:
        self._owner = owner
        self._chunks = chunks
        #: Chunks the calling process took back and analysed itself.
        self.taken_back = 0

    def result(self) -> pa.Table:
        """The batch's table (as ``__call__`` gives it). Chunks no worker has
        started yet, from the last one down, are taken back and analysed
        here while the workers finish the others; then their results are
        waited for. Any split gives the same table."""
        taken: dict[int, pa.Table] = {}
        for i in reversed(range(len(self._chunks))):
            texts, future = self._chunks[i]
            if not future.cancel():
                break  # started, and so are the chunks before it (they go out in order)
            taken[i] = analyze_with_segments(texts)
        self.taken_back += len(taken)
        tables = []
        for i, (_, future) in enumerate(self._chunks):
            if i in taken:
                tables.append(taken[i])
                continue
            table, peak, _ = future.result()
            tables.append(table)
            self._owner.worker_peak_rss_mb = max(self._owner.worker_peak_rss_mb, peak)
        return pa.concat_tables(tables).combine_chunks()


def _span(chars: npt.NDArray[np.int64], a: int, b: int) -> int:
    """Characters of texts ``a`` to ``b`` (``chars``: their running total)."""
    return int(chars[b - 1] - (chars[a - 1] if a else 0)) if b > a else 0


def _analyze_share(texts: list[str]) -> tuple[pa.Table, float, float]:
    """In a worker: the share's signals, the worker's peak RSS so far, and
    the seconds the share took."""
    t0 = time.perf_counter()
    table = analyze_with_segments(texts)
    seconds = time.perf_counter() - t0
    return table, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, seconds
