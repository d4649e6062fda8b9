"""What both lessons (linear, ``ui.views.lesson``; generalized, ``ui.views.lesson_glmm``)
draw the same way: the "What to look at" line and step 9's comparison panel."""

from __future__ import annotations

import streamlit as st

from lib.classroom import comparison as cmp
from lib.classroom import lesson
from ui.views import comparison as comparison_view


def what_to_look_at(text: str) -> None:
    """A step's "What to look at" line (``text`` already escaped)."""
    st.markdown(f":material/visibility: **What to look at.** {text}")


def comparison_step(
    result: cmp.Comparison, formulas: list[tuple[str, str]], key: str, note: str | None = None
) -> None:
    """Step 9: the comparison in words, ``note`` (which fits are not what was asked, say),
    the models' formulas, and the table by the one comparison rule."""
    what_to_look_at(lesson.look_comparison(result, comparison_view.quote))
    if note:
        st.caption(note)
    order = [name for name, _ in formulas]
    st.code(comparison_view.formulas(formulas, order), language="r", wrap_lines=True)
    # The sentences are the step's "what to look at" above.
    comparison_view.draw(result, key, order=order, explain=False)
