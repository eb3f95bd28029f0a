"""Per-prompt signals, computed once per distinct prompt and cached.

Real traffic repeats prompts (retries, templates, viral prompts, campaigns
sending one dataset through many accounts), so each step analyses only the
prompts it has not seen before, then maps every event to its prompt's row.

A prompt's analysis (``analyze_prompts``: normalisation, MinHash bands,
elicitation, area, language, wrapper segments) depends on its text alone;
its near-duplicate cluster and wrapper depend on the prompts seen before it.
So a caller that knows the coming prompts (``replay``, which cuts a stored
input into small steps; ``scan``, which reads its input a batch ahead) can
have the first part done ahead in one large batch
(:meth:`PromptCache.prefetch`), on several cores and, if it likes, in the
background while it works on the batch before, while clusters and wrappers
are still assigned batch by batch, in order, with the same result.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from distillguard.events import TURN_SEPARATOR
from distillguard.signals.elicitation import elicitation
from distillguard.signals.parallel import Pending
from distillguard.signals.sortedmap import SortedMap
from distillguard.signals.text import (
    FingerprintIndex,
    analyze_prompts,
    strip_invisible,
    unconfuse,
)
from distillguard.signals.wrappers import Segments, WrapperIndex, with_segments

_SAMPLE_CAP = 200_000
#: Characters of a system instruction read for elicitation, and kept to describe it.
_SYSTEM_CHARS = 4000
SYSTEM_SAMPLE = 500

_K = TypeVar("_K")

#: Prompt texts to ``SIGNAL_SCHEMA`` rows, row for row.
Analyze = Callable[[list[str]], pa.Table]


class _Column:
    """A growable numpy column."""

    def __init__(self, dtype: type) -> None:
        self.data: np.ndarray = np.zeros(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.zeros(max(need, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    def view(self) -> np.ndarray:
        return self.data[: self.size]


class PromptCache:
    """Maps prompt texts to their signals: normalised hash, near-duplicate
    cluster, wrapper, reasoning elicitation, capability area, language."""

    def __init__(self) -> None:
        #: ``analyze_prompts`` or a drop-in for it (``PromptAnalyzer`` shares
        #: large batches out over several cores).
        self.analyze: Analyze = analyze_prompts
        #: Signals of system instructions, per distinct text.
        self.system = SystemInstructions()
        #: Signals of the user turns before the last (elicitation, opening),
        #: per distinct text.
        self.earlier = EarlierTurns()
        #: prompt key (``text_keys``) -> row of the columns below
        self._row = SortedMap(np.int64)
        self.fingerprints = FingerprintIndex()
        self.wrappers = WrapperIndex()
        self.norm_hash = _Column(np.uint64)
        self.cluster = _Column(np.uint64)
        self.wrapper = _Column(np.uint64)
        self.elicit = _Column(np.float32)
        self.area_code = _Column(np.int16)
        self.lang_code = _Column(np.int16)
        self.kind_code = _Column(np.int16)
        self.areas: list[str | None] = []
        self.langs: list[str | None] = []
        self.kinds: list[str | None] = [None]
        self.samples: dict[int, str] = {}
        self._sealed = False
        #: Prompts analysed ahead (``prefetch``), not added yet: their
        #: analysis, and their key -> its row there.
        self._ahead: pa.Table | None = None
        self._ahead_row = SortedMap(np.int64)
        #: Batches being analysed in the background (``prefetch``), oldest
        #: first: their keys, and the handle to collect them by.
        self._pending: list[tuple[npt.NDArray[np.uint64], Pending]] = []

    @property
    def size(self) -> int:
        return self.norm_hash.size

    def seal(self) -> None:
        """Drop the near-duplicate index once no prompt will be added (a
        finished scan): it is the cache's largest part, about 0.4 kB per
        distinct prompt, and detection does not read it. Signals, samples and
        wrapper descriptions stay; adding a new prompt afterwards raises."""
        self.fingerprints = FingerprintIndex()
        self._sealed = True
        self._pending.clear()
        self._ahead, self._ahead_row = None, SortedMap(np.int64)

    def lookup(self, prompts: pa.ChunkedArray | pa.Array) -> pa.Table:
        """Signals of each prompt, one row per input, analysing new prompts."""
        arr = prompts.combine_chunks() if isinstance(prompts, pa.ChunkedArray) else prompts
        uniq = pc.unique(arr)
        index = pc.index_in(arr, value_set=uniq).to_numpy(zero_copy_only=False)
        texts: list[str] = uniq.to_pylist()
        rows = self._rows_for(texts)
        return self._signals(rows[index])

    def prefetch(self, prompts: pa.ChunkedArray | pa.Array, *, background: bool = False) -> int:
        """Analyse now, in one batch, those of ``prompts`` that are neither
        added nor analysed ahead yet; :meth:`lookup` then takes their
        analysis instead of analysing them again. Clusters and wrappers are
        still assigned when a prompt is added, so the result of every lookup
        is the same with or without this. Returns how many were analysed.

        ``background``: hand the batch to ``analyze.submit`` (a
        ``PromptAnalyzer``'s worker processes) and return at once; a lookup
        that needs its prompts waits for it. Without such workers the batch
        is analysed now."""
        arr = prompts.combine_chunks() if isinstance(prompts, pa.ChunkedArray) else prompts
        texts: list[str] = pc.unique(arr).drop_null().to_pylist()
        keys = np.array(text_keys(texts), dtype=np.uint64)
        new = (self._find_rows(keys) < 0) & (_rows_in(self._ahead_row, keys) < 0)
        if self._pending:
            new &= ~np.isin(keys, np.concatenate([k for k, _ in self._pending]))
        keys, first = np.unique(keys[new], return_index=True)
        if not len(keys):
            return 0
        fresh = [texts[i] for i in np.flatnonzero(new)[first].tolist()]
        submit: Callable[[list[str]], Pending | None] | None = getattr(self.analyze, "submit", None)
        handle = submit(fresh) if background and submit is not None else None
        if handle is not None:
            self._pending.append((keys, handle))
        else:
            self._hold(keys, with_segments(self.analyze(fresh), fresh))
        return len(fresh)

    def _hold(self, keys: npt.NDArray[np.uint64], sig: pa.Table) -> None:
        """Keep the analysis ``sig`` of the prompts of ``keys`` (distinct,
        new) for :meth:`lookup`, dropping what was held and has been added since."""
        self._ahead_row.keep(self._find_rows(self._ahead_row.items()[0]) < 0)
        held, (rows,) = self._ahead_row.items()
        kept = self._ahead.take(pa.array(rows)) if self._ahead is not None else sig.slice(0, 0)
        self._ahead = pa.concat_tables([kept, sig]).combine_chunks()
        self._ahead_row = SortedMap.from_sorted(held, np.arange(len(held), dtype=np.int64))
        order = np.argsort(keys)
        self._ahead_row.insert(keys[order], len(held) + order.astype(np.int64))

    def lookup_keys(self, keys: npt.NDArray[np.uint64]) -> pa.Table:
        """Signals of prompts already added, by their :func:`text_keys`."""
        uniq, inverse = np.unique(keys, return_inverse=True)
        rows = self._find_rows(uniq)
        if len(rows) and rows.min() < 0:
            raise KeyError(f"{int((rows < 0).sum())} prompt keys were never added")
        return self._signals(rows[inverse.reshape(-1)])

    def add_analysed(self, texts: list[str], sig: pa.Table) -> None:
        """Add new prompts analysed elsewhere: ``sig`` holds
        ``analyze_prompts``' columns for ``texts``, row for row. Clusters and
        wrappers are assigned here, from the prompts added so far, exactly as
        :meth:`lookup` assigns them to the new prompts of one call."""
        keys = np.array(text_keys(texts), dtype=np.uint64)
        base = self.size
        self._absorb(texts, sig)
        self._index_rows(keys, base)

    def _signals(self, per_event: npt.NDArray[np.int64]) -> pa.Table:
        return pa.table(
            {
                "norm_hash": self.norm_hash.view()[per_event],
                "cluster": self.cluster.view()[per_event],
                "wrapper": self.wrapper.view()[per_event],
                "elicit": self.elicit.view()[per_event],
                "elicit_kind": _decode(self.kind_code.view()[per_event], self.kinds),
                "area": _decode(self.area_code.view()[per_event], self.areas),
                "lang": _decode(self.lang_code.view()[per_event], self.langs),
            }
        )

    def sample(self, norm_hash: int) -> str | None:
        """One prompt text of this normalised hash, if kept."""
        return self.samples.get(norm_hash)

    def _rows_for(self, texts: list[str]) -> np.ndarray:
        hashes = np.array(text_keys(texts), dtype=np.uint64)
        rows = self._find_rows(hashes)
        new = np.flatnonzero(rows < 0)
        if len(new):
            base = self.size
            self._analyse([texts[i] for i in new], hashes[new])
            self._index_rows(hashes[new], base)
            rows[new] = self._find_rows(hashes[new])
        return rows

    def _find_rows(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """The row of each key, -1 for keys not added."""
        return _rows_in(self._row, keys)

    def _index_rows(self, keys: npt.NDArray[np.uint64], base: int) -> None:
        """Index the keys of prompts just added at rows ``base``, ``base + 1``…
        A key already indexed, or repeated (two texts whose hashes collide),
        keeps its first row."""
        level, _ = self._row.find(keys)
        fresh = np.flatnonzero(level < 0)
        uniq, first = np.unique(keys[fresh], return_index=True)
        self._row.insert(uniq, base + fresh[first])

    def _analyse(self, texts: list[str], keys: npt.NDArray[np.uint64]) -> None:
        rows = _rows_in(self._ahead_row, keys)
        # Collect background batches, oldest first, while some prompt is missing.
        while self._pending and len(rows) and rows.min() < 0:
            done, handle = self._pending.pop(0)
            self._hold(done, handle.result())
            rows = _rows_in(self._ahead_row, keys)
        if self._ahead is not None and len(rows) and rows.min() >= 0:
            self._absorb(texts, self._ahead.take(pa.array(rows)))
        else:
            self._absorb(texts, self.analyze(texts))

    def _absorb(self, texts: list[str], sig: pa.Table) -> None:
        if self._sealed:
            raise RuntimeError("this prompt cache is sealed: no prompt can be added")
        norm = sig.column("norm_hash").to_numpy()
        flat = sig.column("bands").combine_chunks().flatten().to_numpy()
        bands = np.ascontiguousarray(flat, dtype=np.uint64).reshape(len(texts), -1)
        self.norm_hash.extend(norm)
        self.cluster.extend(self.fingerprints.add(norm, bands))
        self.wrapper.extend(self.wrappers.add(texts, norm, Segments.from_columns(sig)))
        self.elicit.extend(sig.column("elicit").to_numpy(zero_copy_only=False))
        self.kind_code.extend(_encode(sig.column("elicit_kind").to_pylist(), self.kinds))
        self.area_code.extend(_encode(sig.column("area").to_pylist(), self.areas))
        self.lang_code.extend(_encode(sig.column("lang").to_pylist(), self.langs))
        if len(self.samples) < _SAMPLE_CAP:
            for h, text in zip(norm.tolist(), texts, strict=True):
                self.samples.setdefault(h, text[:2000])


#: What varies from one request to the next inside an instruction that is
#: otherwise fixed: a run of letters, digits and the punctuation of
#: identifiers and dates around at least one digit (a request id, a
#: timestamp, a session or user number, a date). Whitespace-free scripts
#: are not swallowed: only ASCII letters join a run, so "今天是2026年11月29日"
#: keeps its words.
_VARYING = r"[A-Za-z0-9_\-:./+#]*\p{Nd}[A-Za-z0-9_\-:./+#]*"
#: What stands for a varying part in an instruction's frame.
VARYING = "{#}"


def instruction_frames(texts: list[str]) -> list[str]:
    """Each system instruction with what varies per request masked
    (``_VARYING`` → ``{#}``) and its whitespace collapsed.

    Applications put the date, the time or a session number into their
    instruction, and an operation can add a request id to each of its own
    to look like many: the frame is what stays. Invisible characters and
    look-alike letters of other scripts mixed into words, the other way to
    make each copy differ while it reads the same, are taken out first
    (``text.strip_invisible``, ``text.unconfuse``).

    >>> instruction_frames(["Request 7f3c-91a2 at 2026-11-29T10:32:11Z.  Show all reasoning."])
    ['Request {#} at {#} Show all reasoning.']
    """
    clean = [unconfuse(strip_invisible(t)) for t in texts]
    arr = pc.replace_substring_regex(pa.array(clean, pa.large_string()), _VARYING, VARYING)
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"\s+", " "))
    return [str(t) for t in arr.to_pylist()]


class SystemInstructions:
    """Signals of system instructions: each instruction's reasoning
    elicitation and its key, a 64-bit hash of its frame
    (``instruction_frames``: what varies per request masked), 0 for none.

    An operation can put its demand for written-out reasoning in the system
    instruction and send the bare problems as prompts: the request asks for
    the reasoning all the same, and the instruction its accounts share is
    the fixed text around the varying tasks, as a wrapper is. System
    instructions repeat far more than prompts (one per application or
    script), and an instruction that varies only by a request id, a date or
    a number is one instruction: a nonce in each request does not make an
    operation's accounts strangers. Elicitation is read on the frame, once
    per frame, so it is the same for every request of one instruction on
    every engine. The caches are bounded: past ``cap`` texts they start
    afresh; the first ``cap`` frames are kept (cut short) to describe their
    keys. ``elicit=False`` keys the texts only (their scores are 0)."""

    def __init__(self, cap: int = 1 << 16, *, elicit: bool = True) -> None:
        self.cap = cap
        self.elicit = elicit
        self._seen: dict[str, tuple[float, int]] = {}
        self._frames: dict[str, float] = {}
        self.texts: dict[int, str] = {}

    def signals(
        self, system: pa.ChunkedArray | pa.Array
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint64]]:
        """Per event, the elicitation score and key of its system instruction
        (0 and 0 where there is none)."""
        arr, enc = _encoded(system)
        if enc is None:
            return _per_event(arr, enc, [])
        texts: list[str] = enc.dictionary.to_pylist()
        new = [texts[i] for i in _unseen(self._seen, texts, self.cap)]
        if new:
            self._learn(new)
        return _per_event(arr, enc, [self._seen[t] for t in texts])

    def _learn(self, new: list[str]) -> None:
        """Score and key the instructions ``new`` (texts not seen yet)."""
        frames = instruction_frames(new)
        distinct = list(dict.fromkeys(frames))
        fresh = [distinct[i] for i in _unseen(self._frames, distinct, self.cap)]
        if fresh and self.elicit:
            scores, _ = elicitation([f[:_SYSTEM_CHARS] for f in fresh])
            self._frames.update(zip(fresh, scores.tolist(), strict=True))
        elif fresh:
            self._frames.update(dict.fromkeys(fresh, 0.0))
        keys = [k or 1 for k in text_keys(frames)]
        for text, frame, k in zip(new, frames, keys, strict=True):
            self._seen[text] = (self._frames[frame], k)
            if len(self.texts) < self.cap:
                self.texts.setdefault(k, frame[:SYSTEM_SAMPLE])

    def describe(self, key: int) -> str:
        """The frame of the system instruction of ``key``, if kept."""
        return self.texts.get(int(key), "")

    def fold(self, sig: pa.Table, system: pa.ChunkedArray | pa.Array) -> pa.Table:
        """The per-event prompt signals ``sig`` with their system instructions'
        folded in: a request asks for written-out reasoning whether its prompt
        or its instruction asks for it (``elicit`` is the larger of the two),
        and the instruction's key is a column of its own (``system``)."""
        return _fold(sig, *self.signals(system), "system")


#: Characters read for elicitation at each end of an earlier user turn.
EARLIER_CHARS = 2000


def earlier_window(text: str) -> str:
    """What is read of one earlier user turn: its first and last
    ``EARLIER_CHARS`` characters (a long worked example can end with the
    instruction to answer the same way)."""
    if len(text) <= 2 * EARLIER_CHARS:
        return text
    return text[:EARLIER_CHARS] + TURN_SEPARATOR + text[-EARLIER_CHARS:]


class EarlierTurns:
    """Signals of the user turns a request sends before its last one
    (``earlier_prompts``): their reasoning elicitation, and the key of the
    conversation's opening.

    An operation can ask for the full reasoning once, in a priming turn
    ("from now on, write out every step of your thinking"), or show it in a
    worked example, and then send each bare problem as the last turn: the
    request still asks for the reasoning, and the opening its accounts
    share is the fixed text around the varying tasks, as a system
    instruction is. A request's earlier turns ask for reasoning as much as
    the turn among them that asks most (each read on ``earlier_window``);
    the opening is the first turn (at most ``OPENING_CHARS`` of it), keyed
    by its frame as a system instruction is (``SystemInstructions``) where
    it asks for the reasoning itself (``OPENING_ASKS``). A
    conversation resends its turns with every request, so each turn is read
    once and each request's text is looked up once; the caches hold 64-bit
    keys, not the texts, and start afresh past ``cap`` entries."""

    def __init__(self, cap: int = 1 << 18) -> None:
        self.cap = cap
        self._seen: dict[int, tuple[float, int]] = {}
        self._turns: dict[int, float] = {}
        # Keys only: an opening's ask is read with the other turns.
        self.openings = SystemInstructions(elicit=False)

    def signals(
        self, earlier: pa.ChunkedArray | pa.Array
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint64]]:
        """Per event, the elicitation score of its earlier turns and the key
        of their opening (0 and 0 where there are none)."""
        arr, enc = _encoded(earlier)
        if enc is None:
            return _per_event(arr, enc, [])
        texts: list[str] = enc.dictionary.to_pylist()
        keys = text_keys(texts)
        new = _unseen(self._seen, keys, self.cap)
        if new:
            turns = [texts[i].split(TURN_SEPARATOR) for i in new]
            scores, first = self._turn_scores(turns)
            # Only an opening that asks for the reasoning is keyed: an
            # ordinary first question is a prompt like any other.
            asks = [j for j, f in enumerate(first) if f >= OPENING_ASKS]
            opened = [0] * len(new)
            if asks:
                _, got = self.openings.signals(pa.array([opening(texts[new[j]]) for j in asks]))
                for j, k in zip(asks, got.tolist(), strict=True):
                    opened[j] = k
            learnt = zip(scores, opened, strict=True)
            self._seen.update(zip([keys[i] for i in new], learnt, strict=True))
        return _per_event(arr, enc, [self._seen[k] for k in keys])

    def _turn_scores(self, texts: list[list[str]]) -> tuple[list[float], list[float]]:
        """Per request (its turns), the elicitation of the turn that asks
        most, and of its first turn."""
        keyed = [text_keys(turns) for turns in texts]
        every = {
            k: t
            for turns, ks in zip(texts, keyed, strict=True)
            for k, t in zip(ks, turns, strict=True)
        }
        distinct = list(every)
        fresh = [distinct[i] for i in _unseen(self._turns, distinct, self.cap)]
        if fresh:
            got, _ = elicitation([earlier_window(every[k]) for k in fresh])
            self._turns.update(zip(fresh, got.tolist(), strict=True))
        best = [max(self._turns[k] for k in ks) for ks in keyed]
        return best, [self._turns[ks[0]] for ks in keyed]

    def describe(self, key: int) -> str:
        """The frame of the opening of ``key``, if kept."""
        return self.openings.describe(key)

    def fold(self, sig: pa.Table, earlier: pa.ChunkedArray | pa.Array) -> pa.Table:
        """The per-event signals ``sig`` with the earlier turns' elicitation
        folded into ``elicit`` (the larger of the two) and the key of their
        opening as a column of its own (``opening``)."""
        return _fold(sig, *self.signals(earlier), "opening")


#: The elicitation score from which a conversation's opening is keyed.
OPENING_ASKS = 0.5
#: Characters of a conversation's opening (its first user turn) that key it.
OPENING_CHARS = 1000


def opening(text: str) -> str:
    """The first of a request's earlier user turns (``earlier_prompts``), at
    most ``OPENING_CHARS`` characters of it."""
    return text.split(TURN_SEPARATOR, 1)[0][:OPENING_CHARS]


def _unseen(cache: MutableMapping[_K, Any], keys: Sequence[_K], cap: int) -> list[int]:
    """The positions of ``keys`` (distinct) that ``cache`` does not hold. A
    cache that would grow past ``cap`` is cleared first, and then every key is
    new: the caches of texts seen are bounded by starting afresh."""
    new = [i for i, k in enumerate(keys) if k not in cache]
    if new and len(cache) + len(new) > cap:
        cache.clear()
        new = list(range(len(keys)))
    return new


def _fold(
    sig: pa.Table, elicit: npt.NDArray[np.float32], key: npt.NDArray[np.uint64], name: str
) -> pa.Table:
    """The per-event signals ``sig`` with ``elicit`` folded into its own
    (the larger of the two) and ``key`` as a column ``name``."""
    at = sig.schema.get_field_index("elicit")
    merged = np.maximum(sig.column("elicit").to_numpy(), elicit)
    out = sig.set_column(at, "elicit", pa.array(merged, pa.float32()))
    return out.append_column(name, pa.array(key, pa.uint64()))


def _encoded(texts: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.DictionaryArray | None]:
    """One array of ``texts``, and its dictionary encoding (``None`` when
    every value is null)."""
    arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    return arr, None if arr.null_count == len(arr) else pc.dictionary_encode(arr)


def _per_event(
    arr: pa.Array, enc: pa.DictionaryArray | None, known: list[tuple[float, int]]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint64]]:
    """Per event of ``arr``, the (score, key) ``known`` holds for its text
    (the dictionary of ``enc``, its encoding), 0 and 0 where it is null."""
    score = np.zeros(len(arr), dtype=np.float32)
    key = np.zeros(len(arr), dtype=np.uint64)
    if enc is None:
        return score, key
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    at = enc.indices.to_numpy(zero_copy_only=False)[valid].astype(np.int64)
    score[valid] = np.array([s for s, _ in known], dtype=np.float32)[at]
    key[valid] = np.array([k for _, k in known], dtype=np.uint64)[at]
    return score, key


def _rows_in(index: SortedMap, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """The row ``index`` holds for each key, -1 for keys it does not hold."""
    level, pos = index.find(keys)
    rows: npt.NDArray[np.int64] = index.get(0, level, pos)
    rows[level < 0] = -1
    return rows


def text_keys(texts: list[str]) -> list[int]:
    """The key a prompt text is cached under (a 64-bit hash of its bytes)."""
    return [xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in texts]


def _encode(values: list[str | None], vocab: list[str | None]) -> np.ndarray:
    index = {v: i for i, v in enumerate(vocab)}
    out = np.empty(len(values), dtype=np.int16)
    for i, v in enumerate(values):
        code = index.get(v)
        if code is None:
            code = index[v] = len(vocab)
            vocab.append(v)
        out[i] = code
    return out


def _decode(codes: np.ndarray, vocab: list[str | None]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int16()), pa.array(vocab, pa.string()))
