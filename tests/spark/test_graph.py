"""Connected components in Spark SQL."""

from __future__ import annotations

from pyspark.sql import SparkSession

from distillguard.engine.spark import connected_components


def test_components_are_labelled_by_their_smallest_node(spark: SparkSession) -> None:
    chain = [(i, i + 1) for i in range(100, 120)]  # a long path: needs pointer jumping
    star = [(7, 3), (7, 9), (9, 12)]
    edges = spark.createDataFrame([*chain, *star, (50, 50), (61, 60)], "src long, dst long")
    labels = dict(connected_components(edges).collect())
    assert {n: labels[n] for n in (3, 7, 9, 12)} == {3: 3, 7: 3, 9: 3, 12: 3}
    assert {labels[n] for n in range(100, 121)} == {100}
    assert labels[60] == labels[61] == 60
    assert 50 not in labels  # a self-loop is no edge
