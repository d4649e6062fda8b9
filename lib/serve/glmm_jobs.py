"""The app's generalized-model jobs for ``lib.serve.fit_pool`` (issue 16).

Module-level functions a worker imports by name (``"lib.serve.glmm_jobs:fit"``); they
take a frame, a frozen ``ModelSpec`` and ``ResponseFamily`` (and a ``GlmmFit``) and
return frozen results, all of which pickle. A two-valued text or boolean outcome is
coded 1/0 by ``ResponseFamily.success`` inside ``lib.glmm`` (``lib.glmm.response``).
"""

from __future__ import annotations

import pandas as pd

from lib.classroom.comparison import Comparison, compare_glmm_specs
from lib.glmm.fit import fit_glmm
from lib.glmm.intervals import profile_intervals
from lib.glmm.result import GlmmFit
from lib.glmm.variance import LatentVariances, latent_variances
from lib.lmm.intervals import Intervals
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.serve.jobs import burn


def fit(
    frame: pd.DataFrame,
    spec: ModelSpec,
    family: ResponseFamily,
    nagq: int = 1,
    burn_seconds: float = 0.0,
) -> GlmmFit:
    burn(burn_seconds)
    return fit_glmm(frame, spec, family, nagq)


def variances(
    frame: pd.DataFrame, spec: ModelSpec, family: ResponseFamily, fitted: GlmmFit
) -> LatentVariances:
    """ICC and Nakagawa R² (a Poisson model refits its null model: a job, not a page step)."""
    return latent_variances(fitted, frame, spec, family)


def compare(
    frame: pd.DataFrame,
    specs: tuple[tuple[str, ModelSpec], ...],
    family: ResponseFamily,
    nagq: int = 1,
) -> Comparison:
    """The Ladder's steps as GLMMs, compared by lme4's anova rule (``compare_glmm_specs``)."""
    return compare_glmm_specs(frame, dict(specs), family, nagq)


def profile(
    frame: pd.DataFrame, spec: ModelSpec, family: ResponseFamily, fitted: GlmmFit
) -> Intervals:
    """lme4's ``confint(method = "profile")`` (``lib.glmm.intervals``): many refits."""
    return profile_intervals(fitted, frame, spec, family)
