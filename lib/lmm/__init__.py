"""Linear mixed models with any number of random terms, numerically identical to lme4.

Public entry points: ``fit_lmm`` (one model), ``fit_design`` (from prepared
arrays) and ``anova`` / ``compare_fits`` (likelihood-ratio comparison). The
pipeline follows lme4's four steps (``fit``): ``lFormula`` is
``lib.model.design`` then ``stats``; ``mkLmerDevfun`` + ``optimizeLmer`` is
``optimum``; ``mkMerMod`` is ``fit.package_fit``. One concept per module:

- ``stats``: the sufficient statistics (per-level and per-pair sums), the only
  pass over the rows;
- ``theta``: theta and the covariance factor block T(theta) of one term;
- ``smallblocks``: Cholesky factors and triangular solves of many q x q blocks;
- ``objective``: the profiled criterion (REML/ML), sigma-hat and vcov(beta),
  each written once;
- ``oneterm``: the penalized least-squares factor of one term, batched across
  levels and thetas;
- ``blocked``: the blocked Cholesky factor for several terms, with
  ``blocksparse`` for its block storages;
- ``gradient``: the criterion's exact gradient (one derivation, evaluated for
  either factor);
- ``optimize``: the optimizer's stages (L-BFGS-B, BOBYQA, Newton steps, saddle
  check, boundary trials); ``search``: which start and stages each factor gets;
  ``optsummary``: the record of what ran;
- ``optimum``: the search and everything the solve at the optimum gives;
- ``satterthwaite`` + ``numderiv``: lmerTest's denominator df;
- ``conditioning``: centring and scaling badly scaled columns, and the map back;
- ``checks``: refusals of unidentifiable models before any fit;
- ``variance``: ICC and Nakagawa's R^2; ``diagnostics``: residual and QQ checks;
- ``anova``: model comparison; ``blas``: one BLAS thread per fit;
- ``intervals``: confidence intervals named as broom.mixed's tidy() (Wald),
  with ``parameters`` (lme4's SD/correlation/sigma scale), ``profile``
  (likelihood profiles, as ``confint(method = "profile")``) and ``bootstrap``
  (parametric bootstrap, as ``bootMer``); ``predict``: predictions with and
  without random effects, for new rows, and effect-plot data;
- ``fit``: the pipeline and packaging; ``result``: the frozen result types.
"""

from lib.lmm.anova import Anova, AnovaRow, anova, compare_fits
from lib.lmm.fit import fit_design, fit_lmm
from lib.lmm.optsummary import OptimizerSummary
from lib.lmm.result import R2, Icc, LmmFit, VarCorr

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
