"""A Python API for notebooks: ``lmer("y ~ x + (x | g)", df)``, as lme4/lmerTest.

::

    from lib import lmer

    m = lmer("normexam ~ standLRT * schgend + (standLRT | school)", exam)
    print(m)            # lmerTest's summary() layout
    m.fixef             # Series: lme4's fixef(m)
    m.ranef()           # {factor: DataFrame}: ranef(m)
    m.tidy()            # broom.mixed::tidy(m): effect, group, term, estimate, ...
    m.varcorr()         # the "Random effects:" table as numbers
    m.fit               # the LmmFit with every number (lib.lmm.result)
    m.confint()         # lme4's confint(m): profile (default), "wald" or "boot"
    m.predict(new)      # predict(m, newdata, allow.new.levels = TRUE); re_form="marginal"
    m.effects("x", "g") # ggeffects::ggpredict-style effect-plot data

The formula is read by ``lib.model.formula`` (lme4's syntax; nothing is
evaluated). Bad input raises a subclass of ``lib.errors.ExplorerError`` whose
message says what to change. Columns that are combinations of earlier ones are
dropped with lme4's message (a ``RankDeficiencyWarning``), listed in ``m.dropped``.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import SpecError
from lib.lmm import LmmFit, fit_design
from lib.lmm.intervals import Intervals, check_method, profile_intervals, wald_intervals
from lib.lmm.predict import PredictionBasis, effect_data, predict, prediction_basis
from lib.model.design import Design, RankDeficiencyWarning, build_design
from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec
from lib.present.lme4_text import summary_text
from lib.present.summary import ranef_table, varcorr_table

CONFINT_COLUMNS = ("effect", "group", "term", "estimate", "conf.low", "conf.high")
TIDY_COLUMNS = ("effect", "group", "term", "estimate", "std.error", "statistic", "df", "p.value")


def prediction_rows(
    data: pd.DataFrame | None, basis: object, newdata: object, re_form: str, fitter: str
) -> pd.DataFrame:
    """The rows ``predict`` works on (``newdata``, or the fitting data), after checking the
    arguments lmer's and glmer's ``predict`` share; ``fitter`` names the function to refit
    with when the model was built without its data."""
    if re_form not in ("conditional", "marginal"):
        raise SpecError(f"re_form must be 'conditional' or 'marginal', not {re_form!r}.")
    rows = data if newdata is None else newdata
    if rows is None or basis is None:
        raise SpecError(f"This model was built without its data; refit it with {fitter}().")
    if not isinstance(rows, pd.DataFrame):
        raise SpecError(f"`newdata` must be a pandas DataFrame, got {type(rows).__name__}.")
    return rows


class PrintsSummary:
    """A fitted model that prints as its lme4-style ``summary()``: ``str``, ``repr`` and
    Jupyter's HTML (escaped: column names and levels are user data). Subclasses that
    are dataclasses take ``repr=False`` so that this ``__repr__`` stands."""

    def summary(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


@dataclass(frozen=True, eq=False, repr=False)
class LmerModel(PrintsSummary):
    """A fitted linear mixed model with lme4's accessors.

    Attributes
    ----------
    fit : LmmFit
        Every number of the fit.
    formula : str
        The formula as given.
    data_name : str
        Shown on the summary's ``Data:`` line.
    dropped : tuple of str
        Model-matrix columns dropped as combinations of earlier ones.
    design : Design or None
        The model's arrays (profiles and bootstrap refit from them).
    basis : PredictionBasis or None
        The fitting data's factor levels and summaries (for predictions).
    data : DataFrame or None
        The data as given (``predict()`` without new rows predicts for it).
    """

    fit: LmmFit
    formula: str
    data_name: str = "data"
    dropped: tuple[str, ...] = ()
    design: Design | None = None
    basis: PredictionBasis | None = None
    data: pd.DataFrame | None = None

    @property
    def spec(self) -> ModelSpec:
        return self.fit.spec

    @property
    def fixef(self) -> pd.Series:
        """lme4's ``fixef(m)``."""
        return pd.Series(np.asarray(self.fit.beta, float), index=list(self.fit.fixef_names))

    def ranef(self) -> dict[str, pd.DataFrame]:
        """lme4's ``ranef(m)``: one DataFrame of conditional modes per grouping factor."""
        return {f.group: ranef_table(self.fit, f.group) for f in self.fit.ranef}

    def varcorr(self) -> pd.DataFrame:
        """The ``Random effects:`` table (Groups, Name, Variance, Std.Dev., Corr)."""
        return varcorr_table(self.fit)

    def summary(self) -> str:
        """lmerTest's ``summary(m)`` as text."""
        return summary_text(self.fit, self.formula, self.data_name)

    def tidy(self) -> pd.DataFrame:
        """``broom.mixed::tidy(m)``: fixed effects, then each factor's sd and correlation
        parameters (``sd__(Intercept)``, ``cor__(Intercept).x``), then ``sd__Observation``
        in group ``Residual``. An uncorrelated term's blocks are groups ``g``, ``g.1``...
        """
        fit = self.fit
        rows = [
            ("fixed", None, name, b, se, t, df, p)
            for name, b, se, t, df, p in zip(
                fit.fixef_names,
                fit.beta,
                fit.beta_se,
                fit.beta_t,
                fit.beta_df,
                fit.beta_p,
                strict=True,
            )
        ]
        seen: dict[str, int] = {}
        for term in fit.varcorr.terms:
            blocks = (
                [(term.names, term.sd, term.correlation)]
                if term.correlated or len(term.names) == 1
                else [((n,), term.sd[k : k + 1], np.ones((1, 1))) for k, n in enumerate(term.names)]
            )
            for names, sd, corr in blocks:
                count = seen.get(term.group, 0)
                seen[term.group] = count + 1
                group = term.group if count == 0 else f"{term.group}.{count}"
                for i, name in enumerate(names):
                    rows.append(("ran_pars", group, f"sd__{name}", float(sd[i])) + (None,) * 4)
                    for j in range(i + 1, len(names)):
                        value = float(corr[i, j])
                        rows.append(
                            ("ran_pars", group, f"cor__{name}.{names[j]}", value) + (None,) * 4
                        )
        rows.append(("ran_pars", "Residual", "sd__Observation", float(fit.sigma)) + (None,) * 4)
        frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
        for column in TIDY_COLUMNS[3:]:
            frame[column] = frame[column].astype(float)
        return frame

    def intervals(
        self,
        method: str = "profile",
        level: float = 0.95,
        nsim: int = 500,
        seed: int | None = None,
        progress=None,  # noqa: ANN001
        stop=None,  # noqa: ANN001
    ) -> Intervals:
        """``confint`` as the frozen ``Intervals`` result (``lib.lmm.intervals``)."""
        method = check_method(method)
        if method == "wald":
            return wald_intervals(self.fit, level)
        if self.design is None:
            raise SpecError("This model was built without its data; refit it with lmer().")
        if method == "profile":
            return profile_intervals(self.fit, self.design, level)
        from lib.lmm.bootstrap import bootstrap_intervals

        return bootstrap_intervals(
            self.fit, self.design, level, nsim=nsim, seed=seed, progress=progress, stop=stop
        )

    def confint(
        self,
        method: str = "profile",
        level: float = 0.95,
        nsim: int = 500,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """lme4's ``confint(m, method=)`` in broom.mixed's columns: effect, group, term,
        estimate, conf.low, conf.high (rows in ``tidy()``'s order).

        method : "profile" (likelihood profiles; ML, also for a REML fit, as lme4),
        "wald" (fixed effects only; NaN for variance parameters, lme4's NA) or
        "boot" (parametric bootstrap percentiles; ``nsim`` refits, ``seed``).
        """
        result = self.intervals(method, level, nsim=nsim, seed=seed)
        frame = pd.DataFrame(
            [(r.effect, r.group, r.term, r.estimate, r.conf_low, r.conf_high) for r in result.rows],
            columns=CONFINT_COLUMNS,
        )
        for column in CONFINT_COLUMNS[3:]:
            frame[column] = frame[column].astype(float)
        return frame

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str = "conditional"):  # noqa: ANN201
        """lme4's ``predict(m, newdata, re.form, allow.new.levels = TRUE)``.

        re_form : "conditional" (``re.form = NULL``: with the random effects; a level
        not seen in fitting gets none) or "marginal" (``re.form = NA``: X beta).
        Returns an array with one value per row (NaN where a used value is missing).
        """
        rows = prediction_rows(self.data, self.basis, newdata, re_form, "lmer")
        return predict(self.fit, self.basis, rows, conditional=re_form == "conditional")

    def effects(
        self, predictor: str, moderator: str | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        """Effect-plot data as ``ggeffects::ggpredict(m, c(predictor, moderator))``:
        population-level predictions over a grid of ``predictor`` with a confidence
        band, one line per moderator value (``lib.lmm.predict.effect_data``)."""
        if self.basis is None:
            raise SpecError("This model was built without its data; refit it with lmer().")
        return effect_data(self.fit, self.basis, predictor, moderator, level)


def lmer(
    formula: str,
    data: pd.DataFrame,
    reml: bool = True,
    data_name: str = "data",
) -> LmerModel:
    """Fit a linear mixed model given as an lme4 formula, as ``lmerTest::lmer``.

    Parameters
    ----------
    formula : str
        lme4 syntax, e.g. ``"y ~ x * treatment + (1 + x | school)"``
        (``lib.model.formula`` lists what is accepted).
    data : DataFrame
        Rows with a missing value in a used column are dropped.
    reml : bool
        REML (lme4's default) or maximum likelihood.
    data_name : str
        Shown on the summary's ``Data:`` line.

    Returns
    -------
    LmerModel
    """
    if not isinstance(data, pd.DataFrame):
        raise SpecError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    spec = parse_formula(formula, reml=reml)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RankDeficiencyWarning)
        design = build_design(data, spec)
    for warning in caught:  # shown once, to the caller (as lme4's message)
        warnings.warn(warning.message, warning.category, stacklevel=2)
    fit = fit_design(design, spec)
    return LmerModel(
        fit=fit,
        formula=formula,
        data_name=data_name,
        dropped=design.fixef_dropped,
        design=design,
        basis=prediction_basis(data, spec),
        data=data,
    )
