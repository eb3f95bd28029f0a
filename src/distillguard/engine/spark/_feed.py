"""The driver's side of the Spark replay: sorted rows back in time order.

Spark writes two sorted Parquet outputs: the per-event rows (an event's own
signal columns and its prompt's ``text_key``) by event time, and the
distinct prompts, analysed, by the time of their first use. The driver reads
both a batch at a time. Before a step is merged, the prompts first used in it
are added to the driver's ``PromptCache`` in one call, as the embedded replay
adds the new prompts of a step: near-duplicate clusters and wrappers are then
assigned from the prompts seen so far, as an online system would see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillguard._exceptions import DistillGuardError
from distillguard.engine.prompts import PromptCache

#: Rows per batch read back on the driver.
READ_ROWS = 65536


def read_sorted(directory: Path, column: str) -> Iterator[pa.Table]:
    """What Spark wrote sorted by ``column``, in order (part files hold
    consecutive ranges of the sort key and are numbered in that order)."""
    last = -np.inf
    # ``pre_buffer=False``: the default keeps every column chunk read so far.
    for part in sorted(directory.glob("part-*.parquet")):
        for batch in pq.ParquetFile(part, pre_buffer=False).iter_batches(batch_size=READ_ROWS):
            values = batch.column(column).to_numpy()
            if not len(values):
                continue
            if values[0] < last or np.any(np.diff(values) < 0):
                raise DistillGuardError(f"{column} out of order in {part.name}")
            last = values[-1]
            yield pa.Table.from_batches([batch])


class PromptFeed:
    """Adds prompts to ``cache`` as the event rows reach their first use, and
    turns event rows into the per-event signal table ``DetectionState.merge``
    reads (``DetectionState.signals``' columns and types)."""

    def __init__(self, prompts: Iterator[pa.Table], cache: PromptCache) -> None:
        self._prompts = prompts
        self._pending: pa.Table | None = None
        self.cache = cache

    def signals(self, rows: pa.Table) -> pa.Table:
        """The signal table of one step of event rows (sorted by ``t``)."""
        self._add(self._take(float(rows.column("t")[-1].as_py())))
        keys = rows.column("text_key").to_numpy().view(np.uint64)
        # System instructions and earlier turns folded in as
        # ``DetectionState._signal_table`` does.
        sig = self.cache.system.fold(self.cache.lookup_keys(keys), rows.column("system_prompt"))
        sig = self.cache.earlier.fold(sig, rows.column("earlier_prompts"))
        out = rows.drop_columns(["text_key", "system_prompt", "earlier_prompts"])
        for name in sig.column_names:
            out = out.append_column(name, sig.column(name))
        return out

    def _take(self, until: float) -> list[pa.Table]:
        """The prompts first used at or before ``until`` not yet taken."""
        parts: list[pa.Table] = []
        while True:
            if self._pending is None:
                self._pending = next(self._prompts, None)
                if self._pending is None:
                    return parts
            first = self._pending.column("first_t").to_numpy()
            n = int(np.searchsorted(first, until, side="right"))
            parts.append(self._pending.slice(0, n))
            if n < len(first):
                self._pending = self._pending.slice(n)
                return parts
            self._pending = None

    def _add(self, parts: list[pa.Table]) -> None:
        new = pa.concat_tables(parts) if parts else None
        if new is None or not new.num_rows:
            return
        # Spark has no unsigned type: bands travel as signed longs, same bits.
        bands = pc.cast(new.column("bands"), pa.list_(pa.uint64()), safe=False)
        sig = pa.table(
            {
                "norm_hash": pc.cast(new.column("norm_key"), pa.uint64()),
                "bands": bands,
                "elicit": new.column("elicit"),
                "elicit_kind": new.column("elicit_kind"),
                "area": new.column("area"),
                "lang": new.column("lang"),
            }
        )
        self.cache.add_analysed(new.column("prompt").to_pylist(), sig)
