"""Linear mixed models with one grouping factor, numerically identical to lme4.

Public entry points: ``fit_lmm`` (one model) and ``anova`` (likelihood-ratio
comparison). One concept per module: ``crossprod`` (the single pass over the
rows), ``objective`` (profiled deviance), ``optimize`` (theta search),
``satterthwaite`` + ``numderiv`` (lmerTest's df), ``variance`` (ICC, R^2),
``fit`` (the pipeline), ``result`` (frozen result types).
"""

from lib.lmm.anova import Anova, AnovaRow, anova, compare_fits
from lib.lmm.fit import fit_design, fit_lmm
from lib.lmm.result import R2, Icc, LmmFit, OptimizerSummary, VarCorr

__all__ = [
    "Anova",
    "AnovaRow",
    "Icc",
    "LmmFit",
    "OptimizerSummary",
    "R2",
    "VarCorr",
    "anova",
    "compare_fits",
    "fit_design",
    "fit_lmm",
]
