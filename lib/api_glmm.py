"""``glmer("y ~ x + (1 | g)", df, family="binomial")`` for notebooks, as lme4's ``glmer``.

::

    from lib import glmer

    m = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
              family="binomial")
    print(m)            # summary(glmer(...))'s layout
    m.fixef             # Series: fixef(m) on the link scale
    m.ratios()          # odds ratios (logit) / rate ratios (log) with Wald limits
    m.tidy()            # broom.mixed::tidy(m): effect, group, term, estimate, ...
    m.confint("wald")   # confint(m, method = "Wald"); "profile" for likelihood profiles
    m.ranef()           # {factor: DataFrame}: ranef(m)
    m.predict()         # predict(m): link scale; type="response" for probabilities
    m.predict(new, re_form="marginal", type="response")   # new rows, without ranef
    m.variances()       # latent-scale ICC and Nakagawa R² (performance)
    m.dispersion()      # check_overdispersion (Poisson)
    m.effects("x")      # ggpredict-style effect-plot data on the response scale

The outcome's family is one ``ResponseFamily`` (``lib.model.response``): ``family``,
``link``, ``trials`` (successes out of trials), ``offset`` (a column added to the
linear predictor) and ``success`` (the level of a two-valued outcome counted as 1).
Two lme4 spellings are also read from the formula, by pattern and never evaluated:
``cbind(s, n - s) ~ ...`` (trials column n) and ``+ offset(column)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.api import PrintsSummary, prediction_rows
from lib.errors import SpecError
from lib.glmm import GlmmFit, fit_glmm
from lib.glmm.dispersion import DispersionCheck, dispersion_check
from lib.glmm.intervals import confint, intervals_frame, ratio_intervals
from lib.glmm.predict import GlmmPredictionBasis, effect_data, prediction_basis
from lib.glmm.predict import predict as glmm_predict
from lib.glmm.tidy import tidy as glmm_tidy
from lib.glmm.variance import LatentVariances, latent_variances
from lib.lmm.intervals import Intervals
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.model.response_formula import read_lme4_response
from lib.model.spec import ModelSpec
from lib.present.family import ratio_name
from lib.present.glmm_summary import glmm_varcorr_table
from lib.present.glmm_text import glmm_summary_text
from lib.present.summary import ranef_table


@dataclass(frozen=True, eq=False, repr=False)
class GlmerModel(PrintsSummary):
    """A fitted generalized linear mixed model with lme4's accessors.

    Attributes
    ----------
    fit : GlmmFit
        Every number of the fit (``lib.glmm.result``).
    formula : str
        The formula as given (shown on the summary's ``Formula:`` line).
    spec : ModelSpec
        The model without the family (outcome = the successes when there are trials).
    response : ResponseFamily
        Family, link, trials, offset and success level.
    data_name : str
        Shown on the summary's ``Data:`` line.
    data : DataFrame or None
        The data as given (predictions, profiles and the ICC use it).
    basis : GlmmPredictionBasis or None
        The fitting data's factor levels and summaries (for predictions).
    """

    fit: GlmmFit
    formula: str
    spec: ModelSpec
    response: ResponseFamily
    data_name: str = "data"
    data: pd.DataFrame | None = None
    basis: GlmmPredictionBasis | None = None

    @property
    def fixef(self) -> pd.Series:
        """lme4's ``fixef(m)`` (link scale: log odds, log rates)."""
        return pd.Series(np.asarray(self.fit.beta, float), index=list(self.fit.fixef_names))

    def ranef(self) -> dict[str, pd.DataFrame]:
        """lme4's ``ranef(m)``: conditional modes per grouping factor (link scale)."""
        return {f.group: ranef_table(_Factors(self.fit), f.group) for f in self.fit.ranef}

    def varcorr(self) -> pd.DataFrame:
        """The ``Random effects:`` table (Groups, Name, Variance, Std.Dev., Corr)."""
        return glmm_varcorr_table(self.fit)

    def summary(self) -> str:
        """lme4's ``summary(m)`` as text."""
        return glmm_summary_text(self.fit, self.formula, self.response, self.data_name)

    def tidy(self, conf_int: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """``broom.mixed::tidy(m)`` for a glmer fit (``lib.glmm.tidy``): fixed effects with
        z statistics, then each factor's ``sd__`` and ``cor__`` parameters (no residual
        row); ``conf_int="wald"`` or ``"profile"`` adds conf.low and conf.high."""
        intervals = None if conf_int is None else self.intervals(conf_int, level)
        return glmm_tidy(self.fit, intervals)

    def intervals(self, method: str = "wald", level: float = 0.95) -> Intervals:
        """``confint`` as the frozen ``Intervals`` result (``lib.glmm.intervals``)."""
        if self.data is None:
            if str(method).lower() != "wald":
                raise SpecError("This model was built without its data; refit it with glmer().")
            return confint(self.fit, "wald", level=level)
        return confint(self.fit, method, self.data, self.spec, self.response, level)

    def confint(self, method: str = "wald", level: float = 0.95) -> pd.DataFrame:
        """``confint(m, method=)`` in broom.mixed's columns (rows in ``tidy()``'s order).

        method : "wald" (fixed effects; NaN for variance parameters, lme4's NA) or
        "profile" (likelihood profiles for every parameter; refits the model many times).
        """
        return intervals_frame(self.intervals(method, level))

    def ratios(self, method: str = "wald", level: float = 0.95) -> pd.DataFrame:
        """exp() of the fixed effects and their limits: odds ratios (logit) or rate
        ratios (log), as ``exp(confint(m, parm = "beta_"))``; Wald or profile limits."""
        name = ratio_name(self.response)
        if name is None:
            raise SpecError(
                f"exp(estimate) is an odds ratio under the logit link and a rate ratio under "
                f"log; the {self.response.link_name} link has no such reading."
            )
        frame = intervals_frame(ratio_intervals(self.intervals(method, level)))
        return frame.rename(columns={"estimate": name})

    def variances(self) -> LatentVariances:
        """ICC and Nakagawa R² on the latent scale, as ``performance::icc`` and
        ``r2_nakagawa`` (``lib.glmm.variance``; a Poisson model refits its null model)."""
        if self.data is None:
            raise SpecError("This model was built without its data; refit it with glmer().")
        return latent_variances(self.fit, self.data, self.spec, self.response)

    def dispersion(self) -> DispersionCheck:
        """``performance::check_overdispersion`` (Poisson, or binomial with trials)."""
        trials = None
        if self.response.trials is not None and self.data is not None:
            trials = self.data[self.response.trials].to_numpy(float)
        return dispersion_check(self.fit, trials)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        re_form: str = "conditional",
        type: str = "link",  # noqa: A002 - lme4's argument name
    ) -> np.ndarray:
        """lme4's ``predict(m, newdata, re.form, type, allow.new.levels = TRUE)``.

        re_form : "conditional" (``re.form = NULL``: with the random effects; a level not
        seen in fitting gets none) or "marginal" (``re.form = NA``).
        type : "link" (lme4's default: log odds, log counts) or "response"
        (probabilities, expected counts). The offset column is added when there is one.
        """
        rows = prediction_rows(self.data, self.basis, newdata, re_form, "glmer")
        return glmm_predict(self.fit, self.basis, rows, re_form == "conditional", type)

    def effects(
        self,
        predictor: str,
        moderator: str | None = None,
        level: float = 0.95,
        type: str = "response",  # noqa: A002
    ) -> pd.DataFrame:
        """Effect-plot data as ``ggeffects::ggpredict``: population-level predictions over
        a grid of ``predictor`` (probabilities or counts by default), one line per
        moderator value, with a confidence band (``lib.glmm.predict.effect_data``)."""
        if self.basis is None:
            raise SpecError("This model was built without its data; refit it with glmer().")
        return effect_data(self.fit, self.basis, predictor, moderator, level, scale=type)


class _Factors:
    """``fit.ranef`` and ``fit.factor(group)`` as ``lib.present.summary.ranef_table`` reads
    them from an LmmFit."""

    def __init__(self, fit: GlmmFit) -> None:
        self.ranef = fit.ranef

    def factor(self, group: str):  # noqa: ANN201
        return next(f for f in self.ranef if f.group == group)


def glmer(
    formula: str,
    data: pd.DataFrame,
    family: str | ResponseFamily = "binomial",
    link: str | None = None,
    trials: str | None = None,
    offset: str | None = None,
    success: str | None = None,
    nagq: int = 1,
    data_name: str = "data",
) -> GlmerModel:
    """Fit a binomial or Poisson mixed model given as an lme4 formula, as ``lme4::glmer``.

    Parameters
    ----------
    formula : str
        lme4 syntax; ``cbind(s, n - s) ~ ...`` and ``+ offset(column)`` are understood.
    data : DataFrame
        Rows with a missing value in a used column are dropped.
    family : "binomial", "poisson" or a ResponseFamily
        A ResponseFamily carries link, trials, offset and success itself.
    link : str, optional
        "logit" (default), "probit" or "cloglog" for binomial; "log" for Poisson.
    trials, offset, success : str, optional
        Column of trials; column added to the linear predictor; the level of a
        two-valued outcome counted as 1.
    nagq : int
        1 Laplace (glmer's default); 0 glmer's fast first stage; more (up to 25)
        adaptive Gauss-Hermite points for one scalar random effect.
    data_name : str
        Shown on the summary's ``Data:`` line.
    """
    if not isinstance(data, pd.DataFrame):
        raise SpecError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    if not isinstance(formula, str):
        raise SpecError(f"`formula` must be a string, got {type(formula).__name__}.")
    if isinstance(family, ResponseFamily):
        if any(v is not None for v in (link, trials, offset, success)):
            raise SpecError("Give link/trials/offset/success inside the ResponseFamily.")
        response = family
        plain, t, o = read_lme4_response(formula, response.trials, response.offset)
        response = ResponseFamily(response.family, response.link, t, o, response.success)
    else:
        plain, t, o = read_lme4_response(formula, trials, offset)
        response = ResponseFamily(str(family), link, t, o, success)
    if not response.generalized:
        raise SpecError("glmer() fits binomial and Poisson models; use lmer() for a Gaussian one.")
    spec = parse_formula(plain, reml=False)
    fit = fit_glmm(data, spec, response, nagq)
    return GlmerModel(
        fit=fit,
        formula=formula,
        spec=spec,
        response=response,
        data_name=data_name,
        data=data,
        basis=prediction_basis(data, spec, response),
    )

