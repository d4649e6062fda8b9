"""A self-contained HTML report of a fit, and charts as SVG/PNG, made without a browser.

Charts are Vega-Lite specs (``lib.charts.scatter`` and friends) rendered on the server by
``vl-convert`` (Vega in an embedded JavaScript runtime, no browser, no network).
The report is one HTML file: inline CSS, inline SVG charts, no scripts, no external
resources. Every piece of text in it (data-set name, column names, group labels,
sentences) goes through ``html.escape``; SVG text is escaped by the renderer and the
SVG is checked for scripts and event handlers before it is inlined.
"""

from __future__ import annotations

import copy
import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from lib.lmm.intervals import Intervals, wald_intervals
from lib.present import confint, summary
from lib.present.numbers import cell

REPORT_WIDTH = 640  # px: charts in the report (Streamlit's "container" width has no meaning)
# A wide font that vl-convert measures and most browsers have (or replace by a wider-or-
# equal one): text laid out for the app's Source Sans would be clipped when a browser
# draws the SVG in a wider fallback font.
REPORT_FONT = "DejaVu Sans, Verdana, sans-serif"
CSS = """
body { font-family: "Source Sans Pro", "Segoe UI", Helvetica, Arial, sans-serif;
       font-size: 18px; line-height: 1.45; color: #111; max-width: 60em; margin: 2em auto;
       padding: 0 1em; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; }
code, pre { font-family: "Source Code Pro", Consolas, monospace; background: #f3f3f3;
            padding: 0.1em 0.3em; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eee; }
.meaning { border-left: 4px solid #0072B2; padding-left: 0.8em; }
.note { color: #444; font-size: 0.9em; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
"""


class ChartRenderError(RuntimeError):
    """vl-convert could not render a chart (the report says so instead of failing)."""


def static_spec(spec: dict, width: int = REPORT_WIDTH) -> dict:
    """A copy of ``spec`` with ``width: "container"`` replaced by a fixed width and the
    app's font by ``REPORT_FONT``."""
    out = copy.deepcopy(spec)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("width") == "container":
                node["width"] = width
            for key, value in node.items():
                if key.lower().endswith("font") and isinstance(value, str):
                    node[key] = REPORT_FONT
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    if isinstance(out.get("autosize"), dict) and out["autosize"].get("contains") == "padding":
        out["autosize"] = {"type": "pad"}
    return out


def chart_svg(spec: dict, width: int = REPORT_WIDTH) -> str:
    """The chart as an SVG document (rendered without a browser)."""
    import vl_convert  # local: loading its JavaScript runtime costs ~0.5 s on first use

    try:
        return vl_convert.vegalite_to_svg(static_spec(spec, width))
    except Exception as exc:  # vl-convert raises plain ValueError/RuntimeError
        raise ChartRenderError(f"The chart could not be rendered: {exc}") from exc


def chart_png(spec: dict, width: int = REPORT_WIDTH, scale: float = 2.0) -> bytes:
    """The chart as a PNG image (``scale`` 2: sharp on a projector)."""
    import vl_convert

    try:
        return vl_convert.vegalite_to_png(static_spec(spec, width), scale=scale)
    except Exception as exc:
        raise ChartRenderError(f"The chart could not be rendered: {exc}") from exc


def svg_is_safe(svg: str) -> bool:
    """Well-formed SVG without scripts, foreign HTML, event handlers or javascript: links."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return False
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in ("script", "foreignobject", "iframe", "object", "embed"):
            return False
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return False
            if local == "href" and value.strip().lower().startswith(("javascript:", "data:")):
                return False
    return True


def table_html(frame: pd.DataFrame, show_index: bool = True, decimals: int = 4) -> str:
    """An HTML table of numbers (rounded as the app shows them), every label escaped."""
    head = [html.escape(str(frame.index.name or ""))] if show_index else []
    head += [html.escape(str(c)) for c in frame.columns]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [html.escape(str(label))] if show_index else []
        for value, column in zip(row, frame.columns, strict=True):
            cells.append(html.escape(cell(value, str(column), decimals)))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


@dataclass(frozen=True)
class Section:
    """One part of the report: a heading, sentences, tables and charts (all plain data).

    ``tables`` hold (caption, frame, show_index); ``charts`` (caption, Vega-Lite spec);
    ``code`` is shown preformatted (the formula).
    """

    heading: str
    text: tuple[str, ...] = ()
    tables: tuple[tuple[str, pd.DataFrame, bool], ...] = ()
    charts: tuple[tuple[str, dict], ...] = ()
    code: str | None = None
    notes: tuple[str, ...] = field(default=())


def _chart_figure(caption: str, spec: dict) -> str:
    try:
        svg = chart_svg(spec)
    except ChartRenderError as exc:
        return f'<p class="note">{html.escape(str(exc))}</p>'
    if not svg_is_safe(svg):
        return '<p class="note">The chart was left out: its SVG did not pass the safety check.</p>'
    svg = svg.split("?>", 1)[-1] if svg.lstrip().startswith("<?xml") else svg
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg}{caption_html}</figure>"


def build_report(title: str, subtitle: Sequence[str], sections: Sequence[Section]) -> str:
    """The whole report as one HTML document (UTF-8, no scripts, no external files)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    parts += [f'<p class="note">{html.escape(line)}</p>' for line in subtitle]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.code:
            parts.append(f"<pre><code>{html.escape(section.code)}</code></pre>")
        for caption, frame, show_index in section.tables:
            if caption:
                parts.append(f"<p><strong>{html.escape(caption)}</strong></p>")
            parts.append(table_html(frame, show_index))
        for caption, spec in section.charts:
            parts.append(_chart_figure(caption, spec))
        parts += [f'<p class="meaning">{html.escape(t)}</p>' for t in section.text]
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in section.notes]
    parts.append("</body></html>")
    return "\n".join(parts)


def scale(fit: object) -> str:
    """The likelihood a fit's AIC, BIC and logLik are on: ``REML`` or ``ML``."""
    return "REML" if fit.reml else "ML"  # type: ignore[attr-defined]


def criteria_table(fit: object, ml_fit: object | None = None) -> pd.DataFrame:
    """The fit's criteria, each labelled with its likelihood (the rule of
    ``lib.classroom.comparison``): a REML fit's AIC is ``AIC (REML)``, which compares only
    models with the same fixed effects; ``ml_fit`` (its ML refit, ``comparison.ml_spec``)
    adds ``AIC (ML)``, ``BIC (ML)`` and ``logLik (ML)``, the numbers Compare, Ladder and
    Lesson compare models by."""
    on = scale(fit)
    labels = [fit.criterion_name, f"AIC ({on})", f"BIC ({on})", f"logLik ({on})"]  # type: ignore[attr-defined]
    values = [fit.criterion, fit.aic, fit.bic, fit.loglik]  # type: ignore[attr-defined]
    if ml_fit is not None and fit.reml:  # type: ignore[attr-defined]
        labels += ["AIC (ML)", "BIC (ML)", "logLik (ML)"]
        values += [ml_fit.aic, ml_fit.bic, ml_fit.loglik]  # type: ignore[attr-defined]
    labels.append("Observations")
    values.append(fit.nobs)  # type: ignore[attr-defined]
    return pd.DataFrame(
        {"Value": pd.Series(values, dtype=object).to_numpy()},  # object: the count stays int
        index=pd.Index(labels, name=""),
    )


def fit_sections(
    fit: object,
    readings: dict[str, str] | None = None,
    main_chart: tuple[str, dict] | None = None,
    diagnostics: Sequence[tuple[str, dict, str]] = (),
    dropped: Sequence[str] = (),
    ml_fit: object | None = None,
    intervals: Sequence[Intervals] = (),
) -> list[Section]:
    """The Model view as report sections: formula and criteria, the chart, the tables of
    ``summary()`` (lib.present.summary), and the diagnostics.

    ``readings`` maps a section heading ("Scaled residuals", "Random effects", "Fixed
    effects", "Intraclass correlation and R²", "Model") to its plain-language sentence;
    ``diagnostics`` holds (caption, chart spec, reading); ``dropped`` the model-matrix
    columns lme4 dropped as combinations of earlier ones (``summary.dropped_fixef``),
    noted under the fixed effects with lme4's message; ``ml_fit`` is the ML refit of a
    REML fit (``criteria_table``); ``intervals`` the confidence intervals computed on the
    page (profile, bootstrap; a table each after the 95% Wald intervals, always given).
    """
    readings = readings or {}

    def said(key: str) -> tuple[str, ...]:
        return (readings[key],) if readings.get(key) else ()

    rank = summary.rank_note(dropped)
    fixed_notes = ("df and p-values: Satterthwaite's method, as lmerTest reports them.",)
    fixed_notes += (rank,) if rank else ()
    groups = "; ".join(f"{name}: {n:,} groups" for name, n in fit.ngroups.items())  # type: ignore[attr-defined]
    notes = [groups]
    if fit.reml:  # type: ignore[attr-defined]
        notes.append(
            "AIC, BIC and logLik (REML) compare only models with the same fixed effects; "
            "the (ML) values, of the model refitted by maximum likelihood, are the ones "
            "the app's Compare, Ladder and Lesson pages compare models by."
            if ml_fit is not None
            else "AIC, BIC and logLik (REML) compare only models with the same fixed effects."
        )
    sections = [
        Section(
            "Model",
            code=fit.formula,  # type: ignore[attr-defined]
            tables=(("", criteria_table(fit, ml_fit), True),),
            text=said("Model"),
            notes=tuple(notes),
        )
    ]
    if main_chart is not None:
        sections.append(Section("Chart", charts=(main_chart,)))
    sections += [
        Section(
            "Scaled residuals",
            tables=(("", summary.scaled_residuals(fit), False),),  # type: ignore[arg-type]
            text=said("Scaled residuals"),
        ),
        Section(
            "Random effects",
            tables=(("", summary.varcorr_table(fit), False),),  # type: ignore[arg-type]
            text=said("Random effects"),
        ),
        Section(
            "Fixed effects",
            tables=(("", summary.fixef_table(fit), True),),  # type: ignore[arg-type]
            text=said("Fixed effects"),
            notes=fixed_notes,
        ),
        interval_section(fit, intervals),
        Section(
            "Intraclass correlation and R²",
            tables=(("", summary.icc_r2_table(fit), True),),  # type: ignore[arg-type]
            text=said("Intraclass correlation and R²"),
        ),
    ]
    sections += [
        Section(f"Diagnostics: {caption}", charts=(("", spec),), text=(reading,))
        for caption, spec, reading in diagnostics
    ]
    return sections


def interval_section(fit: object, intervals: Sequence[Intervals] = ()) -> Section:
    """Confidence intervals in broom.mixed's ``tidy()`` columns: Wald at 95% (unless
    ``intervals`` has Wald already), then every other result given."""
    results = list(intervals)
    if not any(r.method == "wald" for r in results):
        results.insert(0, wald_intervals(fit))  # type: ignore[arg-type]
    return Section(
        "Confidence intervals",
        tables=tuple((confint.describe(r), confint.tidy_frame(r), False) for r in results),
        notes=(
            "Wald intervals are for the fixed effects only (lme4 gives NA for the variance "
            "parameters); profile intervals are lme4's confint() default.",
        ),
    )
