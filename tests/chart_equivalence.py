"""Shared by the chart tests: a spec of ``lib.charts.vega.spec_with_frames`` and altair's
own ``to_dict`` of the same chart, each with its data references replaced by the rows."""

from __future__ import annotations

import math

import pandas as pd


def rows(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as altair sends them: plain Python values, None for a missing one."""
    out = []
    for record in frame.astype(object).to_dict("records"):
        out.append({k: _plain(v) for k, v in record.items()})
    return out


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def inline(spec: dict, datasets: dict[str, list[dict]]) -> dict:
    """``spec`` without ``datasets``, each ``{"name": ...}`` data replaced by its rows."""

    def walk(node: object) -> object:
        if isinstance(node, dict):
            if set(node) == {"name"} and node["name"] in datasets:
                return {"values": datasets[node["name"]]}
            return {k: walk(v) for k, v in node.items() if k != "datasets"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(spec)


def altairs(spec: dict) -> dict:
    """Altair's ``to_dict`` with its datasets inlined (records normalised as ``rows``)."""
    datasets = {
        name: [{k: _plain(v) for k, v in r.items()} for r in records]
        for name, records in (spec.get("datasets") or {}).items()
    }
    return inline(spec, datasets)


def ours(spec: dict, frames: dict[str, pd.DataFrame]) -> dict:
    return inline(spec, {name: rows(frame) for name, frame in frames.items()})
