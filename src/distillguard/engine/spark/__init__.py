"""The detection pipeline on Apache Spark (``--engine spark``).

Same input, same report as the embedded engine: the heavy, data-parallel
stages run on Spark with the embedded engine's own code in the Python workers
(validation, prompt signals) or in Spark SQL mirroring its DuckDB SQL (state
aggregation); the compact state is then loaded into DuckDB on the driver,
where the same detectors, scoring and policy run. See ``scan`` for which
step runs where, and ``docs/scaling.md`` for measured costs.

Needs the ``spark`` extra (pyspark) and Java 17 or newer.
"""

from distillguard.engine.spark._graph import connected_components
from distillguard.engine.spark._session import require_pyspark, spark_session
from distillguard.engine.spark.replay import replay
from distillguard.engine.spark.scan import scan

__all__ = ["connected_components", "replay", "require_pyspark", "scan", "spark_session"]
