"""Spooled gateway lines to validated ``EVENT_SCHEMA`` tables.

The gateway's spool holds JSON Lines in the event schema, so the live loop
reads them through the same validation, normalisation and enrichment as
``distillguard scan`` (:class:`~distillguard.events.EventReader`): a bad line
is rejected with the same reason it would get from a file, and
``accepted + rejected + duplicates == lines`` holds per batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from distillguard.events import EVENT_SCHEMA, REJECT_SCHEMA, EventReader, IngestSummary
from distillguard.events._sources import Block, Source, _LineSplitter


class LinesSource(Source):
    """Records already in memory (complete JSON lines, newline excluded)."""

    def __init__(self, name: str, lines: Sequence[bytes]) -> None:
        super().__init__(Path(name))
        self.name = name
        self._lines = lines

    def blocks(self, batch_rows: int) -> Iterator[Block]:
        if not self._lines:
            return
        splitter = _LineSplitter()
        yield from splitter.feed(b"\n".join(self._lines) + b"\n", batch_rows)
        yield from splitter.finish(batch_rows)


@dataclass(slots=True)
class Parsed:
    """One batch of spooled lines after validation."""

    events: pa.Table
    rejects: pa.Table
    summary: IngestSummary


def parse_lines(lines: Sequence[bytes], source: str = "spool", *, enrich: bool = True) -> Parsed:
    """Validate and normalise ``lines``; duplicates of a ``request_id`` within
    them are dropped (across batches, exactly-once ingestion keeps them out)."""
    if not lines:
        return Parsed(EVENT_SCHEMA.empty_table(), REJECT_SCHEMA.empty_table(), IngestSummary())
    reader = EventReader([LinesSource(source, lines)], enrich=enrich)
    batches = list(reader)
    events = pa.Table.from_batches(batches, schema=EVENT_SCHEMA)
    return Parsed(events, reader.rejects, reader.summary)
