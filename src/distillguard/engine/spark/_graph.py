"""Connected components on Spark: min-label propagation with pointer jumping.

GraphFrames is not a plain Python package, and the graphs here are simple
(undirected, unweighted, node ids are longs), so the components come from a
few Spark SQL joins per round: every node takes the smallest label among its
own and its neighbours', then the label of its label (pointer jumping, which
halves the distance to the root each round). A round that changes no label
ends the loop. Each round's labels are checkpointed locally so that the query
plan does not grow with the rounds.

The label of a component is its smallest node id: with node ids that order
nodes by first appearance, the root is the component's earliest node, as in
the embedded union-find.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from distillguard._exceptions import DistillGuardError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Rounds after which the loop gives up (pointer jumping needs about log2 of
#: the longest path; this is far beyond any real graph).
MAX_ROUNDS = 64


def connected_components(edges: DataFrame, src: str = "src", dst: str = "dst") -> DataFrame:
    """``(node, label)`` for every node that has an edge: ``label`` is the
    smallest node id of its component. ``edges`` holds pairs of long ids."""
    from pyspark.sql import functions as F

    pairs = edges.select(F.col(src).alias("a"), F.col(dst).alias("b")).where("a <> b")
    both = pairs.unionByName(pairs.select(F.col("b").alias("a"), F.col("a").alias("b")))
    links = both.distinct().localCheckpoint()
    labels = (
        links.groupBy("a")
        .agg(F.least(F.min("b"), F.col("a")).alias("label"))
        .withColumnRenamed("a", "node")
        .localCheckpoint()
    )
    for _ in range(MAX_ROUNDS):
        nxt = _round(links, labels).localCheckpoint()
        changed = (
            nxt.alias("n")
            .join(labels.alias("o"), "node")
            .where(F.col("n.label") != F.col("o.label"))
            .limit(1)
            .count()
        )
        labels = nxt
        if not changed:
            return labels
    raise DistillGuardError(f"connected components did not converge in {MAX_ROUNDS} rounds")


def _round(links: DataFrame, labels: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    # The smallest label among a node's neighbours (and its own) ...
    seen = (
        links.join(labels.withColumnRenamed("node", "b"), "b")
        .select(F.col("a").alias("node"), "label")
        .unionByName(labels)
        .groupBy("node")
        .agg(F.min("label").alias("label"))
    )
    # ... then the label of that label.
    hop = seen.select(F.col("node").alias("label"), F.col("label").alias("up"))
    return seen.join(hop, "label", "left").select(
        "node", F.least("label", F.coalesce("up", "label")).alias("label")
    )
