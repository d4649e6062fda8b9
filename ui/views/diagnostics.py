"""The Model page's diagnostics: residual and random-effect plots with one-line readings.

Numbers come from ``lib.lmm.diagnostics``, sentences from ``lib.present.diagnostics_text`` and chart
specs from ``lib.charts.diagnostics``; all of it is built once per data set and model
(``_build`` is cached) and only drawn here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from lib.charts import diagnostics as dc
from lib.charts.readable import pick_groups
from lib.lmm import LmmFit
from lib.lmm.diagnostics import diagnose, group_spreads, row_groups
from lib.model.spec import ModelSpec
from lib.present import diagnostics_text as text
from lib.present.markdown import md
from ui import big, memo, render
from ui.cache import TTL, chart_spec_of

SECTION = "Diagnostics"
MAX_GROUP_PANELS = 12


@dataclass(frozen=True)
class Panel:
    heading: str
    spec: dict
    reading: str  # plain text, escaped when drawn
    alt: str


def _effect_words(effect: str) -> str:
    return "random intercepts" if effect == "(Intercept)" else f"random slopes of {effect}"


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def _build(source: str, spec: ModelSpec, _fit: LmmFit, _frame: pd.DataFrame) -> list[Panel]:
    d = diagnose(_fit)
    if d is None:
        return []
    panels = [
        Panel(
            "Residuals against fitted values",
            chart_spec_of(
                dc.residuals_fitted_chart(
                    d.fitted, d.scaled, title="Scaled residuals against fitted values"
                )
            ),
            text.residuals_vs_fitted(d.check),
            "Scatter of scaled residuals against fitted values with lines at 0 and ±2",
        )
    ]
    term = spec.random[0]
    labels = row_groups(_frame, spec, term.group)
    if labels is not None and len(labels) == d.scaled.size:
        spreads = group_spreads(d.scaled, labels)
        shown = pick_groups(
            [str(v) for v in spreads.index], spreads["n"].tolist(), MAX_GROUP_PANELS
        )
        note = (
            f"the {len(shown)} largest of {len(spreads):,} groups"
            if len(shown) < len(spreads)
            else None
        )
        panels.append(
            Panel(
                f"Residuals per {term.name}",
                chart_spec_of(
                    dc.residuals_by_group_chart(
                        d.fitted,
                        d.scaled,
                        labels,
                        shown,
                        group_title=term.name,
                        title=f"Scaled residuals against fitted values per {term.name}",
                        note=note,
                    )
                ),
                text.group_spread_reading(spreads.loc[shown]),
                f"One small residual plot per {term.name}",
            )
        )
    panels.append(
        Panel(
            "Normal QQ plot of the scaled residuals",
            chart_spec_of(
                dc.qq_chart(d.residual_qq, title="Scaled residuals", y_title="scaled residual")
            ),
            text.qq_reading(d.residual_qq, "scaled residuals"),
            "Normal QQ plot of the scaled residuals with the line through the quartiles",
        )
    )
    for r in d.ranef:
        words = _effect_words(r.effect)
        panels.append(
            Panel(
                f"QQ plot of the random effects: {r.group}, {words}",
                chart_spec_of(
                    dc.qq_chart(
                        r.qq,
                        title=f"{words.capitalize()} of {r.group}",
                        y_title="conditional mode",
                        labels=r.levels,
                    )
                ),
                text.qq_reading(r.qq, f"{words} of {r.group}"),
                f"Normal QQ plot of the {words} of {r.group}",
            )
        )
    # Datasets as Arrow bytes once here (ui.cache.chart_spec_of), not converted by
    # st.vega_lite_chart on every rerun; the report reads them back (cache.json_datasets).
    return panels


def draw(sel: object, fit: LmmFit) -> None:
    """The diagnostics section (after the Model page's tables)."""
    st.subheader(SECTION)
    panels = memo.get(  # one list per (data, model) in this process, never copied
        ("diagnostics", sel.source, repr(fit.spec)),  # type: ignore[attr-defined]
        lambda: _build(sel.source, fit.spec, fit, sel.frame),  # type: ignore[attr-defined]
    )
    if not panels:
        st.info("This fit holds no per-row values, so there are no residual plots.")
        return
    big.note(sel, "The residual plots show the fit to all rows at {sample}.")
    st.caption(
        "As lme4's plot() and qqmath(): points near the dashed lines support the model's "
        "assumptions (normal residuals with one variance; normal random effects). QQ "
        "positions are R's ppoints; W′ is the Shapiro-Francia statistic (nortest::sf.test)."
    )
    # Each panel's reading and the next panel's heading go out as one Markdown element:
    # every element costs the server ~0.15 ms per rerun of every session (issue 17).
    above = None
    for panel in panels:
        heading = f"**{md(panel.heading)}**"
        st.markdown(heading if above is None else f"{above}\n\n{heading}")
        render.chart(panel.spec, panel.alt)
        above = render.meaning_text(md(panel.reading))
    st.markdown(above)
