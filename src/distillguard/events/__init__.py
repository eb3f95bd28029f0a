"""Ingest: read, validate, normalise and enrich API request events.

>>> from distillguard.events import read_events
>>> reader = read_events(["traffic.jsonl.gz"])            # doctest: +SKIP
>>> for batch in reader: ...                                # doctest: +SKIP
>>> reader.summary.accepted, reader.summary.by_reason       # doctest: +SKIP
"""

from distillguard.events._fields import ALL_FIXED_REASONS, Reason
from distillguard.events._formats import FORMATS, detect_format
from distillguard.events._sources import MAX_RECORD_BYTES, RAW_CHARS
from distillguard.events.accounts import read_accounts
from distillguard.events.enrich import IpInfo, lookup_ip, sample_ips
from distillguard.events.reader import (
    MAX_REJECTS,
    EventReader,
    IngestSummary,
    SourceSummary,
    read_events,
)
from distillguard.events.schema import (
    ACCOUNT_SCHEMA,
    EVENT_SCHEMA,
    LABEL_SCHEMA,
    REJECT_SCHEMA,
    TURN_SEPARATOR,
)

__all__ = [
    "ACCOUNT_SCHEMA",
    "ALL_FIXED_REASONS",
    "EVENT_SCHEMA",
    "FORMATS",
    "LABEL_SCHEMA",
    "MAX_RECORD_BYTES",
    "MAX_REJECTS",
    "RAW_CHARS",
    "REJECT_SCHEMA",
    "TURN_SEPARATOR",
    "EventReader",
    "IngestSummary",
    "IpInfo",
    "Reason",
    "SourceSummary",
    "detect_format",
    "lookup_ip",
    "read_accounts",
    "read_events",
    "sample_ips",
]
