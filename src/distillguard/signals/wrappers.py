"""Template ("wrapper") fingerprints: the fixed text around varying content.

A wrapper is the frame an operator puts around each item of a dataset:
"Solve step by step and show all reasoning: {problem}", "Summarize the
following article in 3 sentences:\\n\\n{article}". ``WrapperIndex`` finds them
without knowing them in advance:

* each prompt is cut into segments at line breaks and at sentence or clause
  ends (``. ! ? : ;`` followed by a space, and ``。！？；：`` anywhere); each
  segment is normalised (``text.normalize_array``) and hashed;
* the index counts, per segment hash, the distinct prompts that contain it;
  a segment seen in at least ``min_prompts`` distinct prompts is *fixed*;
* a prompt's wrapper id hashes its fixed segments in order. It is 0 when the
  prompt has no fixed segment, when the fixed segments hold fewer than
  ``MIN_FRAME_WORDS`` words (a shared "Thanks!" is no template), and when the
  prompt is made only of fixed segments: a repeated whole prompt is a
  duplicate, not a wrapper.

``add(texts, norm_hash)`` first counts the batch's distinct prompts, then
assigns ids with the updated counts, so one call over a whole scan sees full
counts. The caller is expected to pass each distinct prompt once (the engine
analyses only prompts it has not seen); within a batch, prompts are
deduplicated by ``norm_hash``.

Bounded memory: the segment counts live in sorted numpy arrays (12 bytes a
segment, in a ``SortedMap``: counting a small batch does not copy them all).
When they exceed ``max_segments``, segments seen in a single prompt
are dropped: varying content is forgotten, frames (seen many times) are kept;
a frame whose first sightings were dropped starts counting again. ``describe``
keeps one sample per wrapper, at most ``max_samples`` of them.

>>> idx = WrapperIndex(min_prompts=3)
>>> texts = [f"Solve step by step and show all reasoning: what is {i} plus {i}?" for i in range(5)]
>>> ids = idx.add(texts, [hash(t) % 2**64 for t in texts])
>>> idx.describe(int(ids[0]))
'Solve step by step and show all reasoning: {…}'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.signals.sortedmap import SortedMap
from distillguard.signals.text import (
    analyze_prompts,
    hash_texts,
    mix,
    normalize_words,
    strip_invisible,
)

__all__ = [
    "MAX_SEGMENTS",
    "MIN_FRAME_WORDS",
    "MIN_PROMPTS",
    "SEGMENT_HASHES",
    "SEGMENT_WORDS",
    "Segments",
    "WrapperIndex",
    "analyze_with_segments",
    "segments",
    "with_segments",
]

MIN_PROMPTS: Final = 20
MIN_FRAME_WORDS: Final = 3
MAX_SEGMENTS: Final = 4_000_000
MAX_SAMPLES: Final = 100_000
_CUT: Final = "\x1f"
_BOUNDARY: Final = (r"([.!?:;]+\s+|[。！？；：]+\s*|\n\s*)", "\\1" + _CUT)
#: ``_BOUNDARY`` for Python's ``re``, for the few sample texts whose segments
#: are cut again to describe their wrapper (RE2's ``\s`` is these four characters and the space).
_BOUNDARY_RE: Final = re.compile(r"([.!?:;]+[\t\n\f\r ]+|[。！？；：]+[\t\n\f\r ]*|\n[\t\n\f\r ]*)")
_RANK = np.uint64(0x9E3779B97F4A7C15)
VARIABLE: Final = "{…}"


class WrapperIndex:
    """Incremental template fingerprints (see the module docstring)."""

    def __init__(
        self,
        min_prompts: int = MIN_PROMPTS,
        *,
        max_segments: int = MAX_SEGMENTS,
        max_samples: int = MAX_SAMPLES,
    ) -> None:
        self.min_prompts = min_prompts
        self.max_segments = max_segments
        self.max_samples = max_samples
        self._counts = SortedMap(np.uint32)  # segment hash -> distinct prompts
        #: wrapper id -> its description, or a sample text and its segments'
        #: kinds (``_sample``) until it is first described
        self._samples: dict[int, str | tuple[str, bytes]] = {}

    @classmethod
    def from_counts(
        cls,
        hashes: npt.NDArray[np.uint64],
        counts: npt.NDArray[np.uint32],
        min_prompts: int = MIN_PROMPTS,
    ) -> WrapperIndex:
        """An index holding segment counts made elsewhere (sorted ``hashes``,
        distinct prompts of each), for :meth:`assign` to use as they are."""
        index = cls(min_prompts)
        index._counts = SortedMap.from_sorted(hashes, counts)
        return index

    @property
    def n_segments(self) -> int:
        """Segment hashes currently counted."""
        return len(self._counts)

    def add(
        self, texts: Sequence[str], norm_hash: npt.ArrayLike, seg: Segments | None = None
    ) -> npt.NDArray[np.uint64]:
        """Count this batch's distinct prompts, then return each row's wrapper
        id. ``seg``: the texts' :func:`segments`, if computed already (by the
        processes that analyse prompts)."""
        texts = list(texts)
        nh = np.ascontiguousarray(norm_hash, dtype=np.uint64).reshape(-1)
        if not len(texts):
            return np.zeros(0, dtype=np.uint64)
        _, first, inverse = np.unique(nh, return_index=True, return_inverse=True)
        distinct = [texts[i] for i in first.tolist()]
        seg = segments(distinct) if seg is None else seg.take(first)
        self._count_segments(seg)
        ids = self.assign(seg, distinct)
        result: npt.NDArray[np.uint64] = ids[inverse.reshape(-1)]
        return result

    def describe(self, wrapper_id: int) -> str:
        """The wrapper's text with the varying parts shown as ``{…}``, from one
        sample prompt; ``""`` for 0 or an unknown (or unsampled) id."""
        sample = self._samples.get(int(wrapper_id), "")
        if isinstance(sample, tuple):
            sample = self._samples[int(wrapper_id)] = _frame_of(*sample)
        return sample

    def _count_segments(self, seg: Segments) -> None:
        live = seg.hash != 0
        row, h = seg.row[live], seg.hash[live]
        order = np.lexsort((h, row))
        row, h = row[order], h[order]
        once = (
            np.r_[True, (row[1:] != row[:-1]) | (h[1:] != h[:-1])] if len(h) else np.zeros(0, bool)
        )
        hashes, n = np.unique(h[once], return_counts=True)
        level, pos = self._counts.find(hashes)
        found = level >= 0
        self._counts.put(0, level, pos, self._counts.get(0, level, pos) + n.astype(np.uint32))
        self._counts.insert(hashes[~found], n[~found].astype(np.uint32))
        if len(self._counts) > self.max_segments:
            _, (count,) = self._counts.items()
            self._counts.keep(count > 1)

    def _fixed(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        level, pos = self._counts.find(hashes)
        fixed: npt.NDArray[np.bool_] = (
            (level >= 0) & (self._counts.get(0, level, pos) >= self.min_prompts) & (hashes != 0)
        )
        return fixed

    def assign(self, seg: Segments, texts: list[str]) -> npt.NDArray[np.uint64]:
        """Each text's wrapper id from the counts held now, which it leaves as they are."""
        n = len(texts)
        fixed = self._fixed(seg.hash)
        live = seg.hash != 0
        n_live = np.bincount(seg.row[live], minlength=n)
        n_fixed = np.bincount(seg.row[fixed], minlength=n)
        frame_words = np.bincount(seg.row[fixed], weights=seg.words[fixed], minlength=n)
        rank = np.cumsum(fixed) - 1
        start = np.zeros(n, dtype=np.int64)
        np.cumsum(n_fixed[:-1], out=start[1:])
        rank_u = (rank - start[seg.row]).astype(np.uint64)
        term = np.where(fixed, mix(seg.hash ^ (rank_u * _RANK)), np.uint64(0))
        sums = np.zeros(n, dtype=np.uint64)
        np.add.at(sums, seg.row, term)
        ids = mix(sums)
        ids[ids == 0] = 1
        ok = (n_fixed > 0) & (n_fixed < n_live) & (frame_words >= MIN_FRAME_WORDS)
        ids[~ok] = 0
        self._sample(ids, seg, fixed, texts)
        return ids

    def _sample(
        self,
        ids: npt.NDArray[np.uint64],
        seg: Segments,
        fixed: npt.NDArray[np.bool_],
        texts: list[str],
    ) -> None:
        """Keep one sample of each new wrapper: its description when the
        segments' text is at hand, otherwise the text and which of its
        segments are fixed, for :meth:`describe` to cut again when asked
        (few wrappers ever are)."""
        room = self.max_samples - len(self._samples)
        if room <= 0:
            return
        todo: dict[int, int] = {}
        for r, w in enumerate(ids.tolist()):
            if w and w not in self._samples and w not in todo and len(todo) < room:
                todo[w] = r
        if not todo:
            return
        bounds = np.searchsorted(seg.row, np.arange(len(texts) + 1))
        for w, r in todo.items():
            a, b = int(bounds[r]), int(bounds[r + 1])
            # Per segment of the sample: 0 no letters, 1 varying, 2 fixed.
            kind = np.where(fixed[a:b], 2, seg.hash[a:b] != 0).astype(np.int8)
            if seg.raw is not None:
                self._samples[w] = _frame(seg.raw[a:b], kind)
            else:
                self._samples[w] = (texts[r], kind.tobytes())


def _frame(raw: Sequence[str], kind: npt.NDArray[np.int8]) -> str:
    """A wrapper's description from one text's segments and their kinds."""
    parts: list[str] = []
    for text, k in zip(raw, kind.tolist(), strict=True):
        if k == 2:
            parts.append(text)
        elif k == 1 and (not parts or parts[-1] != VARIABLE + " "):
            parts.append(VARIABLE + " ")
    return "".join(parts).strip()


def _frame_of(text: str, kind: bytes) -> str:
    """A wrapper's description from a sample text and its segments' kinds."""
    flags = np.frombuffer(kind, dtype=np.int8)
    raw = _cut(text)
    if len(raw) != len(flags):  # Python's and RE2's cut disagree: cut as ``segments`` does
        raw = segments([text]).raw or []
    return _frame(raw, flags)


class Segments:
    """Segments of a batch of texts, flat and in order of text. ``raw`` (the
    segments' text, for samples) may be left out."""

    def __init__(
        self,
        raw: list[str] | None,
        row: npt.NDArray[np.intp],
        hash_: npt.NDArray[np.uint64],
        words: npt.NDArray[np.int64],
    ) -> None:
        self.raw, self.row, self.hash, self.words = raw, row, hash_, words

    def take(self, rows: npt.NDArray[np.intp]) -> Segments:
        """The segments of texts ``rows``, renumbered in that order."""
        where = np.full(int(self.row.max(initial=-1)) + 1, -1, dtype=np.int64)
        where[rows] = np.arange(len(rows))
        new_row = where[self.row]
        keep = np.flatnonzero(new_row >= 0)
        keep = keep[np.argsort(new_row[keep], kind="stable")]
        raw = [self.raw[i] for i in keep.tolist()] if self.raw is not None else None
        return Segments(raw, new_row[keep], self.hash[keep], self.words[keep])

    def columns(self, n: int) -> dict[str, pa.Array]:
        """As per-text list columns (``n`` texts), without the raw text."""
        offsets = pa.array(np.searchsorted(self.row, np.arange(n + 1)).astype(np.int32))
        return {
            SEGMENT_HASHES: pa.ListArray.from_arrays(offsets, pa.array(self.hash, pa.uint64())),
            SEGMENT_WORDS: pa.ListArray.from_arrays(offsets, pa.array(self.words, pa.int64())),
        }

    @classmethod
    def from_columns(cls, table: pa.Table) -> Segments | None:
        """What :meth:`columns` made, if ``table`` holds those columns."""
        if SEGMENT_HASHES not in table.column_names:
            return None
        hashes = table.column(SEGMENT_HASHES).combine_chunks()
        words = table.column(SEGMENT_WORDS).combine_chunks()
        lengths = pc.list_value_length(hashes).to_numpy(zero_copy_only=False)
        return cls(
            None,
            np.repeat(np.arange(len(hashes)), lengths),
            np.asarray(hashes.flatten().to_numpy(), dtype=np.uint64),
            np.asarray(words.flatten().to_numpy(), dtype=np.int64),
        )


#: Optional columns of an analysed-prompt table: each text's segment hashes
#: and word counts, when the analysing processes computed them.
SEGMENT_HASHES: Final = "segment_hashes"
SEGMENT_WORDS: Final = "segment_words"


def _nfkc_utf8(text: str) -> str:
    """NFKC without invisible characters (``text.strip_invisible``), lone
    surrogates replaced (ASCII is left as it is by all three)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    return text.encode("utf-8", "replace").decode("utf-8")


def _cut(text: str) -> list[str]:
    """One text's segments, unnormalised, as :func:`segments` cuts them:
    for the few texts sampled, where a vectorised call would cost more."""
    return _BOUNDARY_RE.sub("\\1" + _CUT, _nfkc_utf8(text)).split(_CUT)


def segments(texts: list[str]) -> Segments:
    """Cut ``texts`` into segments, each normalised and hashed (0: no letters)."""
    arr = pa.array([_nfkc_utf8(t) for t in texts], pa.large_string())
    marked = pc.replace_substring_regex(arr, *_BOUNDARY)
    parts = pc.split_pattern(marked, _CUT)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    row = np.repeat(np.arange(len(texts)), lengths)
    raw: list[str] = pc.list_flatten(parts).to_pylist()
    norm, split = normalize_words(raw)
    words = pc.list_value_length(split).to_numpy(zero_copy_only=False)
    # A segment without letters (list numbers, separators) is no part of a frame.
    empty = ~np.asarray(pc.match_substring_regex(norm, r"\pL").to_numpy(zero_copy_only=False), bool)
    hashes = hash_texts(norm.to_pylist())
    hashes[empty] = 0
    return Segments(raw, row, hashes, np.where(empty, 0, words).astype(np.int64))


def analyze_with_segments(texts: list[str]) -> pa.Table:
    """``analyze_prompts`` plus each text's segments (:meth:`Segments.columns`),
    so that a worker process also does the wrapper index's per-text part."""
    return with_segments(analyze_prompts(texts), texts)


def with_segments(table: pa.Table, texts: list[str]) -> pa.Table:
    """``table``, the analysis of ``texts``, with each text's segments
    (:meth:`Segments.columns`) unless it holds them already."""
    if SEGMENT_HASHES in table.column_names:
        return table
    for name, column in segments(texts).columns(len(texts)).items():
        table = table.append_column(name, column)
    return table
