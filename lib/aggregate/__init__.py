"""Sufficient statistics from engines that need not hold the rows: DuckDB and Spark.

``lib.aggregate.plan`` describes the GROUP BY sums a fit needs once and compiles
them to SQL; ``lib.aggregate.engines`` adapts DuckDB and Spark; ``sqlfit`` runs
the queries, applies ``lib.model.design``'s rules and checks to what comes back, and
hands a ``ModelStats`` to the same fitting code as the pandas engine.
"""

from lib.aggregate.engines import DuckDBEngine, SparkEngine, spark_session
from lib.aggregate.sqlfit import engine_stats, fit_engine

__all__ = ["DuckDBEngine", "SparkEngine", "engine_stats", "fit_engine", "spark_session"]
