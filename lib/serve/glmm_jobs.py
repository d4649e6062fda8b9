"""The app's generalized-model jobs for ``lib.serve.fit_pool`` (issue 16).

Module-level functions a worker imports by name (``"lib.serve.glmm_jobs:fit"``); they
take a frame, a frozen ``ModelSpec`` and ``ResponseFamily`` and return a ``GlmmFit``,
all of which pickle.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from lib.glmm.fit import fit_glmm
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.serve.jobs import burn
from lib.table.outcome_kind import with_binary_outcome


def model_frame(
    frame: pd.DataFrame, spec: ModelSpec, family: ResponseFamily
) -> tuple[pd.DataFrame, ResponseFamily]:
    """The frame and family ``fit_glmm`` takes: a two-valued text or boolean outcome of a
    binomial model recoded 1 (its success level) / 0, so every caller fits and counts
    the same rows the same way."""
    if family.family != "binomial" or family.trials is not None:
        return frame, family
    recoded = with_binary_outcome(frame, spec.outcome, family.success)
    return recoded, dataclasses.replace(family, success=None)


def fit(
    frame: pd.DataFrame,
    spec: ModelSpec,
    family: ResponseFamily,
    nagq: int = 1,
    burn_seconds: float = 0.0,
) -> GlmmFit:
    burn(burn_seconds)
    data, fam = model_frame(frame, spec, family)
    return fit_glmm(data, spec, fam, nagq)
