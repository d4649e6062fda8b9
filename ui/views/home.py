"""The Home page: purpose, data in use, links to the pages, where to start."""

from __future__ import annotations

import streamlit as st

from lib.errors import ExplorerError
from lib.present.markdown import md
from lib.table.catalogue import BUNDLED
from ui import big, cache
from ui.sidebar import Selection

PAGES = (
    (
        "pages/1_Data.py",
        "Data",
        ":material/table:",
        "choose a data set or upload your own, assign the columns, check what a model will use",
    ),
    (
        "pages/2_Explore.py",
        "Explore",
        ":material/bar_chart:",
        "histograms overall and by group, group means and SDs, the scatter by group",
    ),
    (
        "pages/3_Model.py",
        "Model",
        ":material/functions:",
        "fit a mixed model by switching terms on and off and read every part of its summary",
    ),
    (
        "pages/4_Compare.py",
        "Compare",
        ":material/compare_arrows:",
        "simple, dummy-variable and per-group regressions next to the four mixed models",
    ),
    (
        "pages/5_Pooling.py",
        "Pooling",
        ":material/join_inner:",
        "complete, no and partial pooling side by side: how the mixed model borrows strength",
    ),
    (
        "pages/6_Ladder.py",
        "Ladder",
        ":material/stairs:",
        "null model to random intercept and slope in one table, one sentence per step",
    ),
    (
        "pages/7_Sandbox.py",
        "Sandbox",
        ":material/casino:",
        "simulate grouped data hundreds of times: why OLS intervals are too narrow",
    ),
    (
        "pages/8_Lesson.py",
        "Lesson",
        ":material/school:",
        "the tutorial step by step on this data, with Next and Back: each step has its own link",
    ),
    (
        "pages/9_Within_and_between.py",
        "Within & between",
        ":material/stacked_line_chart:",
        "one predictor's pooled, within-group and between-group slopes, and the contextual effect",
    ),
)


def draw(sel: Selection) -> None:
    st.title("Multilevel Explorer")
    st.markdown(
        "When observations come in groups (students in schools, repeated weighings of the "
        "same pig) they are not independent, and an ordinary regression misreads them. "
        "This app lets you explore such grouped data and fit multilevel (mixed-effects) "
        "models by point and click, with the same numbers as R's **lme4**. "
        "It follows the tutorial *Advanced Statistics: Hierarchical Modeling* step by step, "
        "from the first histogram to random slopes."
    )
    _data_in_use(sel)
    st.subheader("Pages")
    # Short link labels with the description as text below: a one-line link label is cut
    # mid-word on a projector.
    for start in range(0, len(PAGES), 2):
        for col, (path, label, icon, text) in zip(
            st.columns(2), PAGES[start : start + 2], strict=False
        ):
            with col.container(border=True, height="stretch"):
                st.page_link(path, label=f"**{label}**", icon=icon)
                st.markdown(text[0].upper() + text[1:] + ".")
    st.subheader("Where to start")
    st.markdown(
        "1. **Explore** the tutorial's schools data: the histograms and the table of school "
        "means show that schools differ.\n"
        "2. **Compare** the non-hierarchical strategies: one regression line for everyone, "
        "dummy variables for the schools, a separate regression per school.\n"
        "3. **Model**: click *Null model* to split the variance (ICC), then *Random "
        "intercept*, *Random slope* and *Intercept + slope*, and read each panel's "
        "*What this means*.\n"
        "4. Back on **Compare**, the model-comparison table ranks the four mixed models by "
        "REML criterion, AIC, BIC and likelihood-ratio tests.\n\n"
        "Every choice is kept in the address bar: copy it to share exactly this view."
    )


def _data_in_use(sel: Selection) -> None:
    st.subheader("Data in use")
    if sel.frame is None:
        st.warning("No data loaded: choose a data set in the sidebar or on the Data page.")
        return
    entry = BUNDLED.get(sel.option)
    if entry is not None:
        st.markdown(f"**{md(entry.title)}**: {md(entry.description)}")
    elif cache.shared_token(sel.option) is not None:
        st.markdown(f"**{md(sel.title)}** (shared through a link: everyone with it sees it)")
    else:
        st.markdown(f"**{md(sel.title)}** (only in this browser session)")
    roles = sel.roles
    n_rows = len(sel.frame) if sel.big is None else sel.big.n_rows
    text = f"{n_rows:,} rows, {sel.frame.shape[1]} columns"
    try:
        if sel.big is None:
            report = cache.validate(sel.source, roles, sel.frame)
        else:
            report = big.validate(sel.big, roles)
        text += f"; {report.n_groups:,} groups of {md(roles.group)}"
    except ExplorerError:
        pass
    st.caption(text)
