"""The Model page's nAGQ on the pages that compare generalized mixed models (Compare,
Ladder): read once here, applied by one rule (``lib.classroom.glmm_nagq``), so the pages
fit the same models the same way and say so in the same words."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from lib.classroom.glmm_nagq import fitted_by, used_nagq
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from ui import state


def page_nagq() -> int:
    """The Model page's nAGQ (a URL key), carried over this page and kept in its link."""
    state.keep((state.NAGQ,))
    nagq = st.session_state.get(state.NAGQ, 1)
    nagq = nagq if nagq in state.NAGQ_VALUES else 1
    state.write_url({state.NAGQ: nagq}, {state.NAGQ: 1})
    return int(nagq)


def comparison_nagq(
    family: ResponseFamily, specs: Mapping[str, ModelSpec]
) -> tuple[int, str, str | None]:
    """The nAGQ a comparison of ``specs`` uses (``used_nagq`` of the Model page's), the
    words for "fitted by maximum likelihood (...)" and the caption that says which models
    are Laplace fits and why (None when there is nothing to say)."""
    nagq, laplace_note = used_nagq(page_nagq(), family, specs)
    return nagq, fitted_by(nagq, laplace_note), laplace_note
