"""Model page: the downloadable HTML report and the main chart as PNG/SVG.

Everything is built when a button is clicked (``st.download_button`` calls the
function then), not on every rerun: rendering charts with vl-convert costs about
0.1 s each (0.7 s for the first in a process).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.classroom.comparison import ml_spec
from lib.lmm import LmmFit
from lib.lmm.intervals import Intervals
from lib.present import explain, report
from lib.present.notes import conditioning_note
from ui import big, cache, render
from ui.views import diagnostics as diagnostics_view
from ui.views import intervals as intervals_view

SECTION = "Report and downloads"


def plain(markdown: str) -> str:
    """The plain text of an ``lib.present.explain`` sentence: Markdown escapes and emphasis
    removed (the report escapes it again, for HTML)."""
    text = re.sub(r"\*\*|(?<!\\)`", "", markdown)
    return re.sub(r"\\(.)", r"\1", text)


def readings(fit: LmmFit) -> dict[str, str]:
    """The Model page's "what this means" sentences, as plain text by section."""
    model = plain(explain.formula(fit.spec))
    note = conditioning_note(fit)
    return {
        "Model": f"{model} {note}" if note else model,
        "Scaled residuals": plain(explain.residuals(fit.scaled_resid_quantiles)),
        "Random effects": plain(explain.varcorr(fit)),
        "Fixed effects": plain(explain.fixef(fit)),
        "Intraclass correlation and R²": plain(explain.icc_r2(fit)),
    }


def ml_fit(sel: object, fit: LmmFit) -> LmmFit | None:
    """The ML refit of a REML fit (None for an ML fit), as the comparison pages make it."""
    if not fit.reml:
        return None
    spec = ml_spec(fit.spec)
    if getattr(sel, "big", None) is not None:
        return big.fit(sel.big, spec)  # type: ignore[attr-defined]
    return cache.fit(sel.source, spec, sel.frame)  # type: ignore[attr-defined]


def report_html(
    sel: object, fit: LmmFit, main_chart: dict | None, intervals: Sequence[Intervals] = ()
) -> bytes:
    """The report of the current Model view (called on click); ``intervals``: the
    profile and bootstrap intervals computed on the page (Wald is always included)."""
    main_chart = None if main_chart is None else cache.json_datasets(main_chart)
    panels = diagnostics_view._build(sel.source, fit.spec, fit, sel.frame)  # type: ignore[attr-defined]
    sections = report.fit_sections(
        fit,
        readings(fit),
        main_chart=None if main_chart is None else ("Fitted line of each group", main_chart),
        diagnostics=[(p.heading, cache.json_datasets(p.spec), p.reading) for p in panels],
        ml_fit=ml_fit(sel, fit),
        intervals=intervals,
    )
    method = "REML" if fit.reml else "maximum likelihood"
    subtitle = [
        f"Data: {getattr(sel, 'title', '')}",
        f"Linear mixed model fit by {method} with Multilevel Explorer; numbers as lme4, "
        "lmerTest and performance report them.",
    ]
    return report.build_report("Multilevel model report", subtitle, sections).encode("utf-8")


def _svg(spec: dict) -> bytes:
    return report.chart_svg(cache.json_datasets(spec)).encode("utf-8")


def _png(spec: dict) -> bytes:
    # The page's spec carries its data as Arrow bytes (ui.cache.chart_spec_of).
    return report.chart_png(cache.json_datasets(spec))


def report_buttons(
    make_html: Callable[[], bytes | str], tables: render.TableDownloads | None, key: str
) -> DeltaGenerator:
    """The row of a Model page's downloads: "Report (HTML)" (made on click), then the
    tables' ZIP; returned for more buttons. Keys ``{key}_report`` and ``{key}_tables``. A
    wrapping row, not st.columns: no column elements on every rerun."""
    row = st.container(horizontal=True, gap="small")
    row.download_button(
        "Report (HTML)",
        data=make_html,
        file_name="model-report.html",
        mime="text/html",
        key=f"{key}_report",
        on_click="ignore",
        icon=":material/description:",
    )
    if tables is not None:
        with row:
            render.zip_download(tables, "model-tables.zip", f"{key}_tables")
    return row


def draw(
    sel: object, fit: LmmFit, main_chart: dict | None, tables: render.TableDownloads | None = None
) -> None:
    st.subheader(SECTION)
    st.markdown(
        "One HTML file with the formula, the tables, the charts and the plain-language "
        "reading of this model; it opens in any browser, offline. The tables' unrounded "
        "numbers come as CSV files in one ZIP."
    )
    row = report_buttons(
        partial(report_html, sel, fit, main_chart, intervals_view.computed(sel, fit)),
        tables,
        "download",
    )
    if main_chart is None:
        return
    row.download_button(
        "Chart (PNG)",
        data=partial(_png, main_chart),
        file_name="model-chart.png",
        mime="image/png",
        key="download_chart_png",
        on_click="ignore",
        icon=":material/image:",
    )
    row.download_button(
        "Chart (SVG)",
        data=partial(_svg, main_chart),
        file_name="model-chart.svg",
        mime="image/svg+xml",
        key="download_chart_svg",
        on_click="ignore",
        icon=":material/image:",
    )
