"""Per-prompt text signals: normalisation, near-duplicate fingerprints, clusters.

``analyze_prompts(texts)`` turns a batch of prompt texts into one row of signals
per text (``SIGNAL_SCHEMA``). The fingerprint is a MinHash signature over
shingles of the normalised text, cut into LSH bands:

* shingles are word 3-grams; text written mostly in Han or kana (Chinese,
  Japanese: no spaces between words) uses character 4-grams instead. A text
  with fewer tokens than that is one shingle. Only the first ``HEAD_CHARS``
  and the last ``TAIL_CHARS`` characters are shingled, so that a 1 MB prompt
  costs no more than a 5 kB one;
* the signature has ``NUM_PERM`` slots (rensa's R-MinHash), cut into
  ``NUM_BANDS`` bands of ``ROWS_PER_BAND`` slots; a band hash mixes the band
  index, the rensa algorithm version and the band's slots into one non-zero
  uint64. An empty text has no shingles and its bands are all 0 ("no band").

Two texts whose shingle sets have Jaccard similarity ``s`` share at least one
band with probability ``1 - (1 - s**5)**32`` (the S-curve)::

    s     0.1     0.2    0.3    0.4    0.5    0.6    0.7    0.8    0.9
    P   0.0003  0.010  0.075  0.28   0.64   0.92   0.994  1.000  1.000

so light edits (a changed number in a 60-word problem is s ~ 0.9) collide
almost surely, while texts sharing under a third of their shingles rarely do.

``FingerprintIndex`` clusters prompts that share a band (union-find).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from rensa import RMinHash

from distillguard.signals.sortedmap import SortedMap

__all__ = [
    "HEAD_CHARS",
    "MAX_BUCKET",
    "NUM_BANDS",
    "NUM_PERM",
    "ROWS_PER_BAND",
    "SIGNAL_SCHEMA",
    "TAIL_CHARS",
    "FingerprintIndex",
    "Tokens",
    "analyze_prompts",
    "hash_texts",
    "mix",
    "normalize",
    "normalize_array",
    "normalize_words",
    "strip_invisible",
    "tokenize",
    "unconfuse",
]

U64 = npt.NDArray[np.uint64]

NUM_PERM: Final = 160
NUM_BANDS: Final = 32
ROWS_PER_BAND: Final = NUM_PERM // NUM_BANDS
HEAD_CHARS: Final = 4000
TAIL_CHARS: Final = 1000
MAX_BUCKET: Final = 256
_SEED: Final = 0x5EED
_WORD_N: Final = 3
_CHAR_N: Final = 4

SIGNAL_SCHEMA: Final = pa.schema(
    [
        ("prompt_hash", pa.uint64()),
        ("norm_hash", pa.uint64()),
        ("bands", pa.list_(pa.uint64())),
        ("elicit", pa.float32()),
        ("elicit_kind", pa.string()),
        ("area", pa.string()),
        ("lang", pa.string()),
        ("n_chars", pa.int32()),
    ]
)

_SPACE = pa.scalar(" ", pa.large_string())
# Punctuation is noise, except what carries meaning in maths and code
# (``% & # @ * / \\``), a "." or "," inside a token (``3.5``, ``1,000``) and a "-"
# before a digit (``-3``). Three RE2 passes; only the last needs a capture group,
# and it is cheap because "-" is rare.
_NOISE: Final = (
    (r"[^\pL\pM\pN\pS\s%&#@*/\\.,-]+|\*{2,}|#{2,}", " "),
    (r"[.,]+\s|[.,]+$|\s[.,]+|^[.,]+", " "),
    (r"-+(\D|$)", r" \1"),
)
_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
_CJK_SPLIT = r"[\p{Han}\p{Hiragana}]"


def normalize(text: str) -> str:
    """The normalised form of one text (see ``normalize_array``).

    >>> normalize("  Solve: 3.5 + x = 10!  Step-by-step, please. ")
    'solve 3.5 + x = 10 step by step please'
    """
    return str(normalize_array([text])[0].as_py())


def normalize_array(texts: Sequence[str]) -> pa.LargeStringArray:
    """NFKC, case-folded, punctuation noise removed, whitespace collapsed.

    Kept: letters (any script, CJK included), marks, digits, symbols
    (``+ = < > ^ $`` …), ``% & # @ * / \\``, a ``.`` or ``,`` inside a token
    (``3.5``, ``1,000``, ``node.js``) and a ``-`` before a digit (``-3``). Numbers are
    kept because they carry the identity of a maths problem. Apostrophes are
    dropped (``don't`` → ``dont``). Lone surrogates become spaces.
    """
    return normalize_words(texts)[0]


def normalize_words(texts: Sequence[str]) -> tuple[pa.LargeStringArray, pa.ListArray]:
    """Normalised texts (``normalize_array``) and their words (an empty text
    has one empty word)."""
    arr = _to_arrow([_fold(t) for t in texts])
    for pattern, replacement in _NOISE:
        arr = pc.replace_substring_regex(arr, pattern, replacement)
    words = _split(arr)
    return pc.binary_join(words, _SPACE), words


def _fold(text: str) -> str:
    if text.isascii():
        # NFKC leaves ASCII as it is, and its case folding is lower-casing.
        return text.lower().replace("'", "")
    # Full-width "，" and "．" (CJK text, no space after them) would become "," and "."
    # inside a token under NFKC.
    text = strip_invisible(text).replace("，", " ").replace("．", " ")
    text = unicodedata.normalize("NFKC", text).casefold().replace("'", "").replace("’", "")
    return unconfuse(text)


# Invisible characters (Unicode's default-ignorable code points: zero-width
# spaces and joiners, soft hyphens, bidirectional marks, variation selectors,
# tag characters, Hangul fillers). Text shows the same with or without them,
# so a harvester can sprinkle them inside words to make each copy of a
# prompt hash, shingle and match differently; they are deleted, not turned
# into spaces, so "st\u200bep" stays one word.
_INVISIBLE: Final = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]+"
)

# Letters of other scripts that look like Latin ones (from Unicode's
# confusables, UTS #39): Cyrillic, Greek and Armenian. Only words that mix them with
# ASCII letters are folded (``unconfuse``): "stеp" with a Cyrillic "е" is
# "step", while Russian or Greek words are left alone. Latin letters beyond
# ASCII are not look-alikes here: the dotless "ı" of Turkish and the "ɑ" of
# phonetic spelling are letters of real words mixed with ASCII ones.
_LOOKALIKES: Final = {
    "а": "a", "в": "b", "е": "e", "і": "i", "ј": "j", "к": "k", "м": "m",
    "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y",
    "А": "A", "В": "B", "Е": "E", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S",
    "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "I", "Ү": "Y",
    "α": "a", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q",
}  # fmt: skip
_UNCONFUSE: Final = str.maketrans(_LOOKALIKES)
_LOOKS = "".join(_LOOKALIKES)
# Combining marks (accents, overlays, the stacks of "zalgo" text) right after
# an ASCII letter. Where a letter with the accent exists, NFKC has already
# made it one ("é"); what stays is decoration no language writes on ASCII
# letters (one prompt in 46,000 of the corpora has one), so it is deleted.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARKED: Final = re.compile(f"(?<=[A-Za-z])[{_MARKS}]+")
_MIXED: Final = re.compile(f"[A-Za-z][{_LOOKS}{_MARKS}]|[{_LOOKS}][A-Za-z]")
_WORD: Final = re.compile(r"\w+")
_LATIN: Final = re.compile(r"[A-Za-z]")


def strip_invisible(text: str) -> str:
    """``text`` without invisible characters (zero-width spaces and joiners,
    soft hyphens, bidirectional marks, variation selectors…).

    >>> strip_invisible("st\u200bep by st\u00adep")
    'step by step'
    """
    return text if text.isascii() else _INVISIBLE.sub("", text)


def unconfuse(text: str) -> str:
    """``text`` with the look-alike letters of words that mix them with ASCII
    letters turned into those letters, and the combining marks stacked on
    ASCII letters deleted: the tricks that make a prompt read the same and
    match nothing. Words wholly in another script are left as they are, and
    so are letters that carry their accent ("é").

    >>> unconfuse("Think stеp by ѕtep. Sho\u0336w re\u0334asoning. Шаг за шагом.")
    'Think step by step. Show reasoning. Шаг за шагом.'
    """
    if text.isascii() or not _MIXED.search(text):
        return text
    return _WORD.sub(_unconfuse_word, _MARKED.sub("", text))


def _unconfuse_word(m: re.Match[str]) -> str:
    word = m.group(0)
    return word.translate(_UNCONFUSE) if _LATIN.search(word) else word


def _split(arr: pa.LargeStringArray) -> pa.ListArray:
    """Whitespace-separated words (an empty text has one empty word)."""
    return pc.utf8_split_whitespace(pc.utf8_trim_whitespace(arr))


def _to_arrow(texts: Sequence[str]) -> pa.LargeStringArray:
    try:
        return pa.array(texts, pa.large_string())
    except UnicodeEncodeError:
        clean = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
        return pa.array(clean, pa.large_string())


def hash_texts(texts: Sequence[str]) -> U64:
    """xxh3_64 of each text's UTF-8 bytes (lone surrogates pass through)."""
    it = (xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in texts)
    return np.fromiter(it, dtype=np.uint64, count=len(texts))


def analyze_prompts(texts: Sequence[str]) -> pa.Table:
    """One row of ``SIGNAL_SCHEMA`` per text, in input order.

    >>> t = analyze_prompts(["Think step by step: what is 17 * 23?"])
    >>> t.column("area")[0].as_py(), t.column("elicit_kind")[0].as_py()
    ('math', 'step_by_step')
    """
    from distillguard.signals.capability import area_and_language
    from distillguard.signals.elicitation import elicitation_of_array

    texts = list(texts)
    norm, words = normalize_words(texts)
    raw = _to_arrow(texts)
    tokens = tokenize(norm, words)
    elicit, kind = elicitation_of_array(norm)
    bands = minhash_bands(tokens)
    area, lang = area_and_language(tokens, raw, norm)
    n = len(texts)
    offsets = pa.array(np.arange(0, n * NUM_BANDS + 1, NUM_BANDS, dtype=np.int32))
    columns = [
        pa.array(hash_texts(texts), pa.uint64()),
        pa.array(hash_texts(norm.to_pylist()), pa.uint64()),
        pa.ListArray.from_arrays(offsets, pa.array(bands.ravel(), pa.uint64())),
        pa.array(elicit, pa.float32()),
        pa.array(kind, pa.string()),
        pa.array(area, pa.string()),
        pa.array(lang, pa.string()),
        pc.cast(pc.utf8_length(raw), pa.int32()),
    ]
    return pa.Table.from_arrays(columns, schema=SIGNAL_SCHEMA)


# --- MinHash bands ---------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix(x: U64) -> U64:
    """splitmix64's finaliser, element-wise (uint64 arithmetic wraps)."""
    out: U64 = np.array(x, dtype=np.uint64)
    _mix_inplace(out)
    return out


_BAND_SEEDS: Final = np.array(
    [
        xxhash.xxh3_64_intdigest(f"band:{b}:{NUM_PERM}:rensa-{RMinHash.ALGORITHM_VERSION}".encode())
        for b in range(NUM_BANDS)
    ],
    dtype=np.uint64,
)


def minhash_bands(tokens: Tokens) -> U64:
    """``(n, NUM_BANDS)`` band hashes of tokenised texts; all 0 for a text
    without shingles."""
    shingles, offsets = shingle_hashes(tokens)
    n = len(tokens.lengths)
    sig = minhash_signatures(shingles, offsets, n).astype(np.uint64)
    sig = sig.reshape(n, NUM_BANDS, ROWS_PER_BAND)
    bands = np.broadcast_to(_BAND_SEEDS, (n, NUM_BANDS))
    for j in range(ROWS_PER_BAND):
        bands = mix(bands ^ sig[:, :, j])
    bands[bands == 0] = 1
    bands[np.diff(offsets) == 0] = 0
    return bands


def minhash_signatures(shingles: U64, offsets: U64, n: int) -> npt.NDArray[np.uint32]:
    """``(n, NUM_PERM)`` R-MinHash signatures of the rows of a flat shingle array."""
    if n == 0:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(shingles, offsets, NUM_PERM, _SEED)
    flat = itertools.chain.from_iterable(matrix.to_rows())
    return np.fromiter(flat, dtype=np.uint32, count=n * NUM_PERM).reshape(n, NUM_PERM)


@dataclass(frozen=True)
class Tokens:
    """The tokens of a batch of normalised texts, flat: words, and single Han or
    hiragana characters (katakana runs stay whole)."""

    hashes: U64  # xxh3_64 of each token's UTF-8 bytes
    row: npt.NDArray[np.intp]  # the text each token belongs to
    lengths: npt.NDArray[np.int64]  # tokens per text
    n_cjk: npt.NDArray[np.int64]  # Han, hiragana and katakana characters per text


def tokenize(norm: pa.LargeStringArray, words: pa.ListArray | None = None) -> Tokens:
    """Tokens of the shingled part (head and tail) of normalised texts
    (``words``: their words, when the caller has them already)."""
    capped = cap_text(norm)
    n_cjk = pc.count_substring_regex(capped, _CJK).to_numpy(zero_copy_only=False).astype(np.int64)
    split = capped
    tokens = words if words is not None and capped is norm else None
    if n_cjk.any():
        split = pc.replace_substring_regex(capped, f"({_CJK_SPLIT})", r" \1 ")
        tokens = _split(split)
        split = pc.binary_join(tokens, _SPACE)
    if tokens is None:
        tokens = pc.utf8_split_whitespace(split)
    # ``split`` is trimmed with single spaces: only an empty text has an empty token.
    lengths = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(tokens)
    empty = _byte_lengths(split) == 0
    if empty.any():
        keep = ~np.repeat(empty, lengths)
        flat = flat.filter(pa.array(keep))
        lengths = np.where(empty, 0, lengths)
    row = np.repeat(np.arange(len(norm)), lengths)
    return Tokens(_token_hashes(flat), row, lengths, n_cjk)


def _byte_lengths(arr: pa.Array) -> npt.NDArray[np.int64]:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    return np.diff(offsets)


def shingle_hashes(tokens: Tokens) -> tuple[U64, U64]:
    """Flat uint64 shingle hashes and row offsets: word 3-grams, or token
    4-grams for texts mostly in Han or kana."""
    width = np.where(2 * tokens.n_cjk >= np.maximum(tokens.lengths, 1), _CHAR_N, _WORD_N)
    return _windows(tokens.hashes, tokens.lengths, width)


def cap_text(arr: pa.LargeStringArray) -> pa.LargeStringArray:
    """The first ``HEAD_CHARS`` and last ``TAIL_CHARS`` characters of long texts."""
    limit = HEAD_CHARS + TAIL_CHARS
    long = np.flatnonzero(_byte_lengths(arr) > limit) if len(arr) else np.zeros(0, np.intp)
    if not len(long):
        return arr
    texts = arr.take(pa.array(long)).to_pylist()
    capped = [t[:HEAD_CHARS] + " " + t[-TAIL_CHARS:] if len(t) > limit else t for t in texts]
    mask = np.zeros(len(arr), dtype=bool)
    mask[long] = True
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(capped, pa.large_string()))


def _token_hashes(flat: pa.Array) -> U64:
    """A stable hash of each token: xxh3 over the batch's distinct tokens."""
    if len(flat) == 0:
        return np.zeros(0, dtype=np.uint64)
    encoded = pc.dictionary_encode(flat)
    vocab = encoded.dictionary.to_pylist()
    it = (xxhash.xxh3_64_intdigest(w.encode()) for w in vocab)
    vocab_hash = np.fromiter(it, dtype=np.uint64, count=len(vocab))
    out: U64 = vocab_hash[encoded.indices.to_numpy(zero_copy_only=False)]
    return out


def _windows(
    tok: U64, lengths: npt.NDArray[np.int64], width: npt.NDArray[np.int64]
) -> tuple[U64, U64]:
    """Hash every window of ``width`` consecutive tokens within each row; a row
    shorter than its width is one window, padded with zeros.

    A window starting at token ``s`` hashes to ``mix(...mix(mix(t[s]) ^ t[s+1])...
    ^ t[s+w-1])``, computed for the windows kept only, in place."""
    n = len(lengths)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    # Windows per row: every full window, or one for a non-empty short row.
    counts = np.where(lengths >= width, lengths - width + 1, np.minimum(lengths, 1))
    offsets = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    row = np.repeat(np.arange(n), counts)
    first = np.arange(total) - (offsets[:-1].astype(np.int64) - starts)[row]
    acc = tok[first]
    _mix_inplace(acc)
    w, end = width[row], ends[row]
    for k in range(1, int(width.max(initial=1))):
        # Rows whose windows are narrower are done: mixing them again would
        # make a text's shingles depend on the other texts of its batch.
        live = np.flatnonzero(w > k)
        at = first[live] + k
        nxt = np.where(at < end[live], tok[np.minimum(at, len(tok) - 1)], np.uint64(0))
        part = acc[live]
        part ^= nxt
        _mix_inplace(part)
        acc[live] = part
    return acc, offsets


def _mix_inplace(x: U64) -> None:
    """``mix``, overwriting ``x``."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)


# --- Near-duplicate clusters -------------------------------------------------------


class _Grow:
    """A growable 1-d numpy array."""

    def __init__(self, dtype: type) -> None:
        self.data: npt.NDArray[Any] = np.zeros(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: npt.NDArray[Any]) -> None:
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.zeros(max(need, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.size]


class FingerprintIndex:
    """Incremental near-duplicate clustering: prompts sharing a band hash are
    merged (union-find over band buckets, vectorised with numpy).

    A cluster id is the ``norm_hash`` of the cluster's current root (its
    earliest prompt); roots change only when clusters merge. The same
    ``norm_hash`` always lands in the same cluster. Without capped buckets the
    final partition is the connected components of "shares a band", whatever
    the order of insertion.

    Giant-cluster guard: a bucket merges only its first ``max_bucket`` distinct
    prompts; later members of a bucket that popular are still counted but not
    merged through it (a band shared by that many distinct prompts says little:
    short templated prompts, a boiler-plate paragraph). Band hash 0 ("no
    band", empty text) never merges.

    Memory: sorted numpy arrays (``SortedMap``: adding a small batch does not
    copy the whole index), about 16 bytes per (distinct prompt, band) plus 24
    bytes per distinct prompt (~0.5 kB per prompt with 32 bands).

    >>> idx = FingerprintIndex()
    >>> t = analyze_prompts(["a b c d e f g h", "a b c d e f g h i", "x y z"])
    >>> nh = t.column("norm_hash").to_numpy()
    >>> bands = np.stack(t.column("bands").to_numpy(zero_copy_only=False))
    >>> ids = idx.add(nh, bands)
    >>> bool(ids[0] == ids[1]), bool(ids[0] == ids[2]), idx.n_clusters
    (True, False, 2)
    """

    def __init__(self, max_bucket: int = MAX_BUCKET) -> None:
        self.max_bucket = max_bucket
        self._nodes = SortedMap(np.int64)  # norm hash -> node
        self._hash = _Grow(np.uint64)  # node -> norm hash
        self._parent = _Grow(np.int64)  # node -> parent node
        # band hash -> first node in the bucket, distinct prompts seen
        self._buckets = SortedMap(np.int32, np.int32)
        self._n_clusters = 0

    @property
    def n_prompts(self) -> int:
        """Distinct normalised prompts seen."""
        return self._hash.size

    @property
    def n_clusters(self) -> int:
        """Current number of clusters."""
        return self._n_clusters

    def add(self, norm_hash: npt.ArrayLike, bands: npt.ArrayLike) -> U64:
        """Add prompts (``bands``: ``(n, NUM_BANDS)``) and return each row's
        cluster id after the whole batch is merged."""
        nh = np.ascontiguousarray(norm_hash, dtype=np.uint64).reshape(-1)
        b = np.asarray(bands, dtype=np.uint64).reshape(len(nh), -1)
        uniq, first, inverse = np.unique(nh, return_index=True, return_inverse=True)
        nodes, new = self._nodes_for(uniq, first)
        if len(new):
            self._merge(nodes[new], b[first[new]])
        roots = self._find(nodes)
        result: U64 = self._hash.view()[roots][inverse.reshape(-1)]
        return result

    def buckets(self) -> tuple[U64, U64]:
        """Every band hash seen (sorted) and the ``norm_hash`` of the prompt
        that opened its bucket, row for row: what maps a band hash back to
        its cluster (through :meth:`clusters_of`) without re-hashing prompts.
        Both arrays are read-only."""
        keys, (rep, _) = self._buckets.items()
        bands = keys.view()
        bands.flags.writeable = False
        reps: U64 = self._hash.view()[rep]
        reps.flags.writeable = False
        return bands, reps

    def clusters_of(self, norm_hash: npt.ArrayLike) -> U64:
        """Current cluster id of each hash; an unknown hash is its own id."""
        nh = np.ascontiguousarray(norm_hash, dtype=np.uint64).reshape(-1)
        out = nh.copy()
        level, pos = self._nodes.find(nh)
        known = level >= 0
        roots = self._find(self._nodes.get(0, level[known], pos[known]))
        out[known] = self._hash.view()[roots]
        return out

    def _nodes_for(
        self, uniq: U64, first: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
        """Node of each sorted distinct hash, creating nodes (numbered in order
        of first appearance) for new ones; also the positions of new ones."""
        level, pos = self._nodes.find(uniq)
        known = level >= 0
        nodes = self._nodes.get(0, level, pos)
        new = np.flatnonzero(~known)
        order = new[np.argsort(first[new], kind="stable")]
        base = self._hash.size
        nodes[order] = base + np.arange(len(order))
        self._hash.extend(uniq[order])
        self._parent.extend(nodes[order])
        self._nodes.insert(uniq[new], nodes[new])
        self._n_clusters += len(new)
        return nodes, new

    def _merge(self, nodes: npt.NDArray[np.int64], bands: U64) -> None:
        keys = bands.reshape(-1)
        owner = np.repeat(nodes, bands.shape[1])
        live = keys != 0
        keys, owner = keys[live], owner[live]
        order = np.lexsort((owner, keys))
        keys, owner = keys[order], owner[order]
        start = (
            np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            if len(keys)
            else np.zeros(0, np.intp)
        )
        size = np.diff(np.r_[start, len(keys)])
        group_key = keys[start]
        group = np.repeat(np.arange(len(start)), size)
        rank = np.arange(len(keys)) - start[group]
        level, pos = self._buckets.find(group_key)
        found = level >= 0
        prior = self._buckets.get(1, level, pos).astype(np.int64)
        rep = np.where(found, self._buckets.get(0, level, pos), owner[start]).astype(np.int64)
        ok = (prior[group] + rank < self.max_bucket) & (owner != rep[group])
        self._buckets.put(1, level, pos, np.minimum(prior + size, np.iinfo(np.int32).max))
        fresh = ~found
        self._buckets.insert(
            group_key[fresh], rep[fresh].astype(np.int32), size[fresh].astype(np.int32)
        )
        self._union(owner[ok], rep[group][ok])

    def _union(self, u: npt.NDArray[np.int64], v: npt.NDArray[np.int64]) -> None:
        """Merge the clusters of each pair (hook the larger root under the smaller)."""
        parent = self._parent.data
        hooked = False
        while len(u):
            ru, rv = self._find(u), self._find(v)
            differ = ru != rv
            if not differ.any():
                break
            ru, rv = ru[differ], rv[differ]
            hi, lo = np.maximum(ru, rv), np.minimum(ru, rv)
            np.minimum.at(parent, hi, lo)
            self._n_clusters -= len(np.unique(hi))
            u, v, hooked = ru, rv, True
        if hooked:
            self._compress()

    def _find(self, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        parent = self._parent.data
        root = parent[x]
        while True:
            up = parent[root]
            if np.array_equal(up, root):
                break
            root = up
        parent[x] = root
        return root

    def _compress(self) -> None:
        parent = self._parent.view()
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                return
            parent[:] = up
