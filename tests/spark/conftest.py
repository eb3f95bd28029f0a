"""One local Spark session for every Spark test (starting one takes seconds).

pyspark is imported at module level on purpose: without it (or without
Java) these tests fail, they are never skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from distillguard.engine.spark import spark_session
from distillguard.simulate import SimConfig, SimFiles, generate, write


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SimFiles:
    """A few thousand simulated requests (with campaigns) as Parquet."""
    out: Path = tmp_path_factory.mktemp("spark-sample")
    cfg = SimConfig(n_events=4000, days=2.0, seed=11)
    return write(generate(cfg), out, fmt="parquet")
