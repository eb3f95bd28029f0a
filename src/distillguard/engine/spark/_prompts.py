"""Per-prompt signals on Spark: the embedded engine's ``PromptCache``, spread out.

* **signals**: every distinct prompt text goes once through
  ``signals.text.analyze_prompts`` in the Python workers (``mapInArrow``):
  hashes, MinHash/LSH bands, elicitation, capability area, language;
* **near-duplicate clusters**: prompts (by normalised hash) sharing an LSH
  band are linked, at most the first ``MAX_BUCKET`` of a band in order of
  first appearance, each to the band's first prompt, as
  ``signals.text.FingerprintIndex`` links them; the clusters are the
  connected components, computed on Spark; a cluster's id is the normalised
  hash of its earliest prompt;
* **wrappers**: the segments of every distinct prompt are counted by Spark
  (distinct prompts per segment); the segments seen in at least
  ``MIN_PROMPTS`` prompts are the fixed frames, broadcast to the workers,
  which give each prompt its wrapper id with ``signals.wrappers``' own code.

Hashes are uint64 in the embedded engine; Spark has no unsigned type, so
they travel as signed longs (same bits) and become keys as the unsigned
decimal text, exactly as DuckDB's ``CAST(... AS VARCHAR)`` writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.engine.prompts import EarlierTurns, SystemInstructions, text_keys
from distillguard.engine.spark._graph import connected_components
from distillguard.signals.text import MAX_BUCKET, analyze_prompts
from distillguard.signals.wrappers import MIN_PROMPTS, WrapperIndex, segments

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Characters of a prompt kept as its sample (as ``engine.prompts``).
SAMPLE_CHARS = 2000

_SIGNALS = pa.schema(
    [
        ("prompt", pa.string()),
        ("first_ord", pa.int64()),
        ("text_key", pa.int64()),
        ("norm_key", pa.string()),
        ("bands", pa.list_(pa.int64())),
        ("elicit", pa.float32()),
        ("elicit_kind", pa.string()),
        ("area", pa.string()),
        ("lang", pa.string()),
    ]
)
_SYSTEM = pa.schema(
    [("system_prompt", pa.string()), ("system_elicit", pa.float32()), ("system_key", pa.string())]
)
_EARLIER = pa.schema(
    [
        ("earlier_prompts", pa.string()),
        ("earlier_elicit", pa.float32()),
        ("opening_key", pa.string()),
    ]
)
_SEGMENTS = pa.schema([("norm_key", pa.string()), ("segment", pa.int64())])
_WRAPPERS = pa.schema(
    [("norm_key", pa.string()), ("wrapper", pa.string()), ("template", pa.string())]
)


@dataclass(slots=True)
class PromptSignals:
    """Per distinct prompt text: ``prompt, norm_key, cluster, wrapper, elicit,
    elicit_kind, area, lang``; per normalised prompt: a sample text and, for
    prompts whose wrapper was described, the wrapper's template."""

    by_text: DataFrame
    by_norm: DataFrame


def prompt_signals(events: DataFrame) -> PromptSignals:
    """Signals of every distinct prompt of ``events`` (which carry ``_ord``)."""
    from pyspark.sql import functions as F

    sig = analysed_texts(events).persist()
    norms = (
        sig.groupBy("norm_key")
        .agg(
            F.min("first_ord").alias("node"),
            F.min_by("bands", "first_ord").alias("bands"),
            F.min_by("prompt", "first_ord").alias("text"),
        )
        .persist()
    )
    clusters = _clusters(norms)
    wrappers = _wrappers(norms)
    by_norm = (
        norms.join(clusters, "norm_key", "left")
        .join(wrappers, "norm_key", "left")
        .select(
            "norm_key",
            F.coalesce("cluster", "norm_key").alias("cluster"),
            "wrapper",
            "template",
            F.substring("text", 1, SAMPLE_CHARS).alias("sample"),
        )
        .persist()
    )
    by_text = sig.join(by_norm.select("norm_key", "cluster", "wrapper"), "norm_key").select(
        "prompt", "norm_key", "cluster", "wrapper", "elicit", "elicit_kind", "area", "lang"
    )
    return PromptSignals(by_text, by_norm)


def analysed_texts(events: DataFrame) -> DataFrame:
    """``analyze_prompts`` once per distinct prompt text of ``events``: its
    first position in the input (``first_ord``), its cache key
    (``engine.prompts.text_keys``, as a signed long), normalised hash and
    bands (``norm_key`` as unsigned decimal text, bands as signed longs) and
    text signals; no clusters or wrappers."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    texts = events.groupBy("prompt").agg(F.min("_ord").alias("first_ord"))
    return texts.mapInArrow(_analyse, from_arrow_schema(_SIGNALS))


def system_signals(events: DataFrame) -> DataFrame:
    """``(system_prompt, system_elicit, system_key)`` of each distinct system
    instruction of ``events`` (``engine.prompts.SystemInstructions``; the key
    as unsigned decimal text)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    texts = events.where("system_prompt IS NOT NULL").select("system_prompt").distinct()
    return texts.mapInArrow(_analyse_system, from_arrow_schema(_SYSTEM))


def earlier_signals(events: DataFrame) -> DataFrame:
    """``(earlier_prompts, earlier_elicit, opening_key)`` of each distinct
    text of earlier user turns of ``events`` (``engine.prompts.EarlierTurns``;
    the key as unsigned decimal text)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    texts = events.where("earlier_prompts IS NOT NULL").select("earlier_prompts").distinct()
    return texts.mapInArrow(_analyse_earlier, from_arrow_schema(_EARLIER))


def _analyse_earlier(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    # One reader per partition: the texts are distinct, but their turns (a
    # conversation resends them all) and openings repeat from batch to batch.
    turns = EarlierTurns()
    for batch in batches:
        if batch.num_rows:
            score, key = turns.signals(batch.column("earlier_prompts"))
            # Key 0: an opening that asks for nothing is not keyed (null).
            none = pa.array(key == 0)
            opening = pc.if_else(none, pa.nulls(len(key), pa.string()), unsigned_text(key))
            yield pa.RecordBatch.from_arrays(
                [batch.column("earlier_prompts"), pa.array(score, pa.float32()), opening],
                schema=_EARLIER,
            )


def _analyse_system(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    # One reader per partition: distinct instructions share frames.
    system = SystemInstructions()
    for batch in batches:
        if batch.num_rows:
            score, key = system.signals(batch.column("system_prompt"))
            yield pa.RecordBatch.from_arrays(
                [batch.column("system_prompt"), pa.array(score, pa.float32()), unsigned_text(key)],
                schema=_SYSTEM,
            )


def _clusters(norms: DataFrame) -> DataFrame:
    """``(norm_key, cluster)`` of the prompts that share a band with another."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    band = norms.select("node", F.explode("bands").alias("band")).where("band <> 0").distinct()
    in_bucket = Window.partitionBy("band").orderBy("node")
    ranked = band.select(
        "node",
        F.row_number().over(in_bucket).alias("rank"),
        F.first("node").over(in_bucket).alias("rep"),
    )
    edges = ranked.where((F.col("rank") <= MAX_BUCKET) & (F.col("rank") > 1))
    labels = connected_components(edges, "node", "rep")
    root = norms.select(F.col("node").alias("label"), F.col("norm_key").alias("cluster"))
    named = labels.join(root, "label").select("node", "cluster")
    return named.join(norms.select("node", "norm_key"), "node").select("norm_key", "cluster")


def _wrappers(norms: DataFrame) -> DataFrame:
    """``(norm_key, wrapper, template)``: wrapper ids (null for none) from
    segment counts over all distinct normalised prompts."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    reps = norms.select("norm_key", "text")
    segments = reps.mapInArrow(_segment_hashes, from_arrow_schema(_SEGMENTS))
    fixed = (
        segments.groupBy("segment")
        .agg(F.count("*").alias("n"))
        .where(F.col("n") >= MIN_PROMPTS)
        .orderBy("segment")
        .toArrow()
    )
    seg = fixed.column("segment").to_numpy().astype(np.int64).view(np.uint64)
    order = np.argsort(seg, kind="stable")
    frames = (seg[order], fixed.column("n").to_numpy().astype(np.uint32)[order])
    spark = norms.sparkSession
    shared = spark.sparkContext.broadcast(frames)

    def assign(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from _assign(batches, *shared.value)

    return reps.mapInArrow(assign, from_arrow_schema(_WRAPPERS))


# -- on the workers -------------------------------------------------------------


def unsigned_text(values: np.ndarray) -> pa.Array:
    """uint64 values as their decimal text."""
    return pa.array([str(v) for v in values.astype(np.uint64).tolist()], pa.string())


def _analyse(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if not batch.num_rows:
            continue
        texts = batch.column("prompt").to_pylist()
        sig = analyze_prompts(texts)
        keys = np.array(text_keys(texts), dtype=np.uint64).view(np.int64)
        flat = pc.list_flatten(sig.column("bands")).to_numpy().astype(np.uint64)
        offsets = pc.list_value_length(sig.column("bands")).to_numpy().cumsum()
        bands = pa.ListArray.from_arrays(
            pa.array(np.r_[0, offsets].astype(np.int32)), pa.array(flat.view(np.int64))
        )
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("prompt"),
                batch.column("first_ord"),
                pa.array(keys, pa.int64()),
                unsigned_text(sig.column("norm_hash").to_numpy()),
                bands,
                sig.column("elicit").combine_chunks(),
                sig.column("elicit_kind").combine_chunks(),
                sig.column("area").combine_chunks(),
                sig.column("lang").combine_chunks(),
            ],
            schema=_SIGNALS,
        )


def _segment_hashes(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each prompt's distinct non-empty segment hashes (``WrapperIndex``'s count)."""
    for batch in batches:
        if not batch.num_rows:
            continue
        seg = segments(batch.column("text").to_pylist())
        live = seg.hash != 0
        pairs = np.unique(np.stack([seg.row[live].astype(np.uint64), seg.hash[live]]), axis=1)
        keys = batch.column("norm_key").take(pa.array(pairs[0].astype(np.int64)))
        yield pa.RecordBatch.from_arrays(
            [keys, pa.array(pairs[1].view(np.int64))], schema=_SEGMENTS
        )


def _assign(
    batches: Iterator[pa.RecordBatch], fixed: np.ndarray, counts: np.ndarray
) -> Iterator[pa.RecordBatch]:
    """Wrapper ids from the global segment counts, with ``WrapperIndex``'s own
    assignment; the template is described once per wrapper and batch, from
    the prompt with the smallest normalised hash (as one embedded batch)."""
    for batch in batches:
        if not batch.num_rows:
            continue
        keys = np.array([int(k) for k in batch.column("norm_key").to_pylist()], dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        texts = batch.column("text").take(pa.array(order)).to_pylist()
        # The index's counting is incremental by design; here the counts are
        # global and given, so it is seeded with them and only assigns (which
        # keeps one definition of what a frame is).
        index = WrapperIndex.from_counts(fixed, counts, MIN_PROMPTS)
        ids = index.assign(segments(texts), texts)
        seen: set[int] = set()
        template: list[str | None] = []
        for w in ids.tolist():
            template.append(index.describe(w) if w and w not in seen else None)
            seen.add(w)
        wrapper = [str(w) if w else None for w in ids.tolist()]
        yield pa.RecordBatch.from_arrays(
            [
                unsigned_text(keys[order]),
                pa.array(wrapper, pa.string()),
                pa.array(template, pa.string()),
            ],
            schema=_WRAPPERS,
        )
