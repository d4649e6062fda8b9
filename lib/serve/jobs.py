"""The app's jobs for ``lib.serve.fit_pool``: module-level functions a worker imports.

Each takes what the app's cached wrapper has (a frame, a spec or settings) and returns
a frozen result that pickles (``LmmFit``, ``Anova``, ``SimResult``, ``Ladder``).

``burn_seconds`` is for test builds only (``EXPLORER_TEST_SLOW_FIT``, read by the app):
the worker first spends that many seconds of CPU, as a slow model would, so the time
limit, the Cancel button and a class burst next to a long fit can be checked without
a data set that takes that long. It is 0 in normal use.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from lib.lmm import Anova, LmmFit, fit_lmm
from lib.lmm import anova as lmm_anova
from lib.model.spec import ModelSpec


def burn(seconds: float) -> None:
    """Keep one core busy for ``seconds`` of wall-clock time (a stand-in for a slow fit
    in tests; wall-clock, so that "a 40-second fit" takes 40 s on a busy machine too)."""
    end = time.monotonic() + max(0.0, float(seconds))
    while time.monotonic() < end:
        sum(range(10_000))


def fit(frame: pd.DataFrame, spec: ModelSpec, burn_seconds: float = 0.0) -> LmmFit:
    burn(burn_seconds)
    return fit_lmm(frame, spec)


def anova(frame: pd.DataFrame, specs: Sequence[ModelSpec], burn_seconds: float = 0.0) -> Anova:
    burn(burn_seconds)
    return lmm_anova(frame, list(specs))


def simulate(settings: object) -> object:
    """``lib.classroom.simulate.simulate`` (imported here: only the Sandbox needs it)."""
    from lib.classroom import simulate as sim

    return sim.simulate(settings)


def profile_intervals(frame: pd.DataFrame, spec: ModelSpec, fit: LmmFit, level: float) -> object:
    """``lib.lmm.intervals.profile_intervals`` of ``fit`` on the design of ``frame``."""
    import warnings

    from lib.lmm.intervals import profile_intervals as profile
    from lib.model.design import build_design

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rank message was given with the fit
        design = build_design(frame, spec)
    return profile(fit, design, level)


def ladder(frame: pd.DataFrame, arguments: dict, burn_seconds: float = 0.0) -> object:
    """``lib.classroom.ladder.ladder(frame, **arguments)``: the Ladder page's fits (each
    step by REML and ML), in a worker like any other fit."""
    from lib.classroom import ladder as lib_ladder

    burn(burn_seconds)
    return lib_ladder.ladder(frame, **arguments)
