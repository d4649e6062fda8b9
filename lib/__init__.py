"""Multilevel Explorer's pure modelling library (no Streamlit).

Data flows one way, and the folders are the stages:

- ``lib.table``      a table in: reading bytes, bundled data, column roles, validation,
                     column helpers, spreadsheet-safe export
- ``lib.model``      what to fit: ``ModelSpec`` / ``RandomTerm``, grouping levels,
                     nesting, the design arrays (nothing is ever evaluated)
- ``lib.lmm``        the linear mixed-model engine (lme4's numbers) and its diagnostics
- ``lib.aggregate``  the same sufficient statistics from DuckDB or Spark
- ``lib.ols``        the tutorial's OLS contrasts (simple, dummy-variable, per group)
- ``lib.explore``    group summaries and histograms before any model
- ``lib.present``    results -> tables of numbers, equations, code, plain-language text, report
- ``lib.charts``     results/data -> altair chart specs
- ``lib.classroom``  pooling, the model ladder, the lesson, simulation
- ``lib.cli``        ``python -m lib fit``
- ``lib.api``        ``lmer("y ~ x + (x | g)", df)`` for notebooks (``from lib import lmer``)
- ``lib.api_glmm``   ``glmer("y ~ x + (1 | g)", df, family="binomial")`` (``from lib import glmer``)
"""

__all__ = ["GlmerModel", "LmerModel", "glmer", "lmer"]


def __getattr__(name: str):  # noqa: ANN202 - lazy, so that ``import lib`` stays light (CLI)
    if name in ("LmerModel", "lmer"):
        from lib import api

        return getattr(api, name)
    if name in ("GlmerModel", "glmer"):
        from lib import api_glmm

        return getattr(api_glmm, name)
    raise AttributeError(f"module 'lib' has no attribute {name!r}")
