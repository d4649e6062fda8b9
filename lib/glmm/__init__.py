"""Generalized linear mixed models (binomial, Poisson) with glmer's numbers.

Public entry point: ``fit_glmm`` (a ``ModelSpec``, a family and link, optional
trials and offset columns) returning a frozen ``GlmmFit``; ``fit_glmm_design``
from prepared arrays. One concept per module (docs/glmm-design.md 3.3):

- ``family``: binomial (logit, probit, cloglog) and Poisson (log) as R's family
  objects, with lme4's clamps;
- ``pirls``: lme4's penalized iteratively reweighted least squares with
  step-halving, each iteration the linear engine's blocked factor
  (``lib.lmm.blocked``) of the sqrt(W)-scaled rows;
- ``laplace``: glmer's Laplace deviance (nAGQ = 1) and its nAGQ = 0 form as
  functions of the parameters;
- ``response``: the outcome as lme4 holds it (two-valued text/boolean outcomes
  coded 0/1 with the success level named, trials, offset, the checks);
- ``agq``: adaptive Gauss-Hermite quadrature (nAGQ 2..25, one scalar term);
- ``fit``: the two optimisation stages, the Hessian-based vcov and the
  packaging; ``result``: ``GlmmFit``; ``convergence``: lme4's ``checkConv`` and
  the optimizer record;
- features of a fit: ``predict`` (link/response scale, with or without random
  effects, new rows), ``intervals`` (Wald, profile, odds/rate ratios), ``tidy``,
  ``variance`` (latent-scale ICC and Nakagawa R^2 as ``performance``),
  ``dispersion`` (``check_overdispersion``), ``anova`` (likelihood-ratio tests,
  also through ``lib.classroom.comparison.compare_glmms``).

In memory only: PIRLS needs mu per row at every iteration, which the aggregate
back ends (``lib.aggregate``) cannot give.
"""

from lib.glmm.family import Family, family
from lib.glmm.fit import fit_glmm, fit_glmm_design
from lib.glmm.result import GlmmFit

__all__ = ["Family", "GlmmFit", "family", "fit_glmm", "fit_glmm_design"]
