"""Starting (or reusing) the Spark session the engine runs on.

pyspark is an optional dependency (``pip install 'distillguard[spark]'``, Java
17 or newer on the machine); importing it is deferred to here so that the
embedded engine never pays for it, and its absence is a configuration error
with a clear message rather than an ``ImportError`` deep in a stack.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from distillguard._exceptions import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Rows per Arrow batch handed to the Python workers (the embedded engine's
#: batch size, so a partition's prompts are analysed in batches of the same size).
ARROW_BATCH_ROWS = 65536


def require_pyspark() -> None:
    """Raise :class:`ConfigError` when pyspark cannot be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "the Spark engine needs pyspark and Java 17+: pip install 'distillguard[spark]'"
        ) from exc


def spark_session(
    master: str = "local[*]",
    *,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
) -> SparkSession:
    """The active session, or a new one on ``master``.

    Settings that matter for equal results with the embedded engine: the
    session time zone is UTC (hour-of-day keys), and the Python workers run
    this interpreter, so they import the same DistillGuard as the driver.
    ``shuffle_partitions`` defaults to twice the cores of a local master and
    to Spark's own default on a cluster."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("distillguard")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
        .config("spark.sql.adaptive.enabled", "true")
    )
    partitions = shuffle_partitions or _local_partitions(master)
    if partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: no Java, bad master URL
        raise ConfigError(f"cannot start Spark on {master!r}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _local_partitions(master: str) -> int | None:
    if not master.startswith("local"):
        return None
    inside = master[len("local") :].strip("[]")
    cores = os.cpu_count() or 1
    if inside.isdigit():
        cores = int(inside)
    return max(2, 2 * cores)
