"""A chart's Vega-Lite dict with its data frames kept aside, as named datasets.

``chart.to_dict()`` turns every data frame of an altair chart into a list of records
(``altair.utils.core.sanitize_pandas_dataframe`` then ``to_values``) and copies those
records again while it walks the chart (``SchemaBase._deep_copy``), for data the app
then turned back into Arrow tables (``ui.cache.chart_spec_of``): a model's first Model
page took 129-150 ms of script CPU with it and 120-127 ms without. Here each frame is named instead
(``{"data": {"name": "data-0"}}``) and returned beside the dict, for the caller to send
as it likes (Streamlit takes Arrow). ``tests/test_chart_vega.py`` checks that the dict
equals ``chart.to_dict()`` once the names are mapped and the frames read as records.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
from altair.utils.schemapi import Undefined

# Where a chart holds other charts: layers, concatenations, a facet's inner spec.
_CHILD_LISTS = ("layer", "hconcat", "vconcat", "concat")


def spec_with_frames(chart: alt.TopLevelMixin) -> tuple[dict, dict[str, pd.DataFrame]]:
    """``chart.to_dict(validate=False)`` with each data frame named, and the frames by name.

    The chart is changed (its frames are replaced by names): pass one made for this call.
    The same frame object used by several layers is one dataset. Column types are as
    ``to_dict`` would send them: categories as their labels, the index left out.
    """
    frames: dict[str, pd.DataFrame] = {}
    names: dict[int, str] = {}
    _name_frames(chart, frames, names)
    spec = chart.to_dict(validate=False)
    return spec, frames


def _name_frames(node: object, frames: dict[str, pd.DataFrame], names: dict[int, str]) -> None:
    if not isinstance(node, alt.SchemaBase):
        return
    data = node._get("data", Undefined)
    if isinstance(data, pd.DataFrame):
        name = names.get(id(data))
        if name is None:
            name = names[id(data)] = f"data-{len(frames)}"
            frames[name] = _as_sent(data)
        node.data = alt.NamedData(name=name)
    for attribute in _CHILD_LISTS:
        children = node._get(attribute, Undefined)
        if isinstance(children, list):
            for child in children:
                _name_frames(child, frames, names)
    _name_frames(node._get("spec", Undefined), frames, names)


def _as_sent(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as altair would send it: string column names, categories as labels,
    no index (altair's records carry none)."""
    out = frame.reset_index(drop=True)
    out.columns = [str(c) for c in out.columns]
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out
