"""The report's sections for a binomial or Poisson mixed model (``glmer``).

``lib.present.report.fit_sections`` writes a linear model's sections; this module
writes a generalized model's in the same ``Section`` form, so that
``report.build_report`` renders either: the formula with the family, glmer's fit
criteria, the Pearson residuals, the random effects, the fixed effects with z tests,
the odds or rate ratios, and (Poisson) the dispersion check. The sentences come from
``lib.present.explain_glmm`` unless the caller gives its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present import explain_glmm
from lib.present.family import family_line, glmer_formula, method_name, ratio_name
from lib.present.glmm_summary import (
    glmm_criteria,
    glmm_fixef_table,
    glmm_ngroups,
    glmm_varcorr_table,
    ratio_table,
)
from lib.present.report import Section
from lib.present.summary import scaled_residuals


def glmm_criteria_table(fit) -> pd.DataFrame:  # noqa: ANN001
    """Deviance, AIC, BIC, logLik, df.resid and observations as one labelled column."""
    row = glmm_criteria(fit).iloc[0]
    labels = ["deviance", "AIC", "BIC", "logLik", "df.resid", "Observations"]
    values = [row["deviance"], row["AIC"], row["BIC"], row["logLik"], fit.df_resid, fit.nobs]
    return pd.DataFrame(
        {"Value": pd.Series(values, dtype=object).to_numpy()},  # object: counts stay int
        index=pd.Index(labels, name=""),
    )


def glmm_fit_sections(
    fit,  # noqa: ANN001 - a lib.glmm.GlmmFit
    spec: ModelSpec,
    response: ResponseFamily,
    readings: Mapping[str, str] | None = None,
    main_chart: tuple[str, dict] | None = None,
    level: float = 0.95,
    variances=None,  # noqa: ANN001 - lib.glmm.variance.LatentVariances
    trials=None,  # noqa: ANN001 - the trials column's values (binomial)
) -> list[Section]:
    """The generalized Model view as report sections.

    ``readings`` maps a heading ("Model", "Random effects", "Fixed effects",
    "Intraclass correlation and R²", "Dispersion") to its sentence; missing ones are
    ``explain_glmm``'s. ``variances`` (``lib.glmm.variance.latent_variances``) adds the
    ICC/R² section; ``trials`` lets a binomial model with trials have the dispersion
    check (a Poisson model always has it).
    """
    given = dict(readings or {})
    defaults = {
        "Model": explain_glmm.criterion(fit),
        "Random effects": explain_glmm.varcorr(fit, response),
        "Fixed effects": explain_glmm.fixef(fit, spec, response),
        "Dispersion": explain_glmm.dispersion(fit, response, trials) or "",
        "Intraclass correlation and R²": ""
        if variances is None
        else explain_glmm.icc_r2(variances),
    }

    def said(key: str) -> tuple[str, ...]:
        text = given.get(key, defaults.get(key, ""))
        return (text,) if text else ()

    groups = "; ".join(f"{name}: {n:,} groups" for name, n in glmm_ngroups(fit).items())
    notes = [
        f"Family: {family_line(response)}; fitted by maximum likelihood "
        f"({method_name(fit.nagq)}), as lme4's glmer.",
        groups,
    ]
    singular = explain_glmm.singular(fit)
    sections = [
        Section(
            "Model",
            code=glmer_formula(spec, response),
            tables=(("", glmm_criteria_table(fit), True),),
            text=said("Model") + ((singular,) if singular else ()),
            notes=tuple(notes),
        )
    ]
    if main_chart is not None:
        sections.append(Section("Chart", charts=(main_chart,)))
    sections += [
        Section(
            "Scaled residuals",
            tables=(("", scaled_residuals(fit), False),),  # type: ignore[arg-type]
            notes=("Pearson residuals (y − μ) / √V(μ), as summary(glmer) shows them.",),
        ),
        Section(
            "Random effects",
            tables=(("", glmm_varcorr_table(fit), False),),
            text=said("Random effects"),
            notes=("On the link scale; a binomial or Poisson model has no residual variance.",),
        ),
        Section(
            "Fixed effects",
            tables=(("", glmm_fixef_table(fit), True),),
            text=said("Fixed effects"),
            notes=("Wald z tests (estimate / SE) against the normal distribution, as glmer.",),
        ),
    ]
    ratio = ratio_name(response)
    if ratio is not None:
        sections.append(
            Section(
                f"{ratio.capitalize()}s",
                tables=(("", ratio_table(fit, response, level), True),),
                notes=(
                    f"exp(estimate) with {level:.0%} Wald limits; the intercept's row is "
                    "exp(intercept), the baseline "
                    + ("odds." if response.link_name == "logit" else "count or rate."),
                ),
            )
        )
    if variances is not None:
        table = pd.DataFrame(
            {
                "Value": [
                    variances.icc_adjusted,
                    variances.icc_unadjusted,
                    variances.r2_marginal,
                    variances.r2_conditional,
                ]
            },
            index=pd.Index(
                ["Adjusted ICC", "Unadjusted ICC", "Marginal R2", "Conditional R2"], name=""
            ),
        )
        sections.append(
            Section(
                "Intraclass correlation and R²",
                tables=(("", table, True),),
                text=said("Intraclass correlation and R²"),
                notes=("On the latent (link) scale, as performance::icc and r2_nakagawa.",),
            )
        )
    if defaults["Dispersion"] or "Dispersion" in given:
        sections.append(Section("Dispersion", text=said("Dispersion")))
    return sections
