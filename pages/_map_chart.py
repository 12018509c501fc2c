"""The Explore map as a Plotly figure: a colour scale for a score column, else one trace per value (a cluster, a
status, a label, a source) whose legend entry toggles it."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.map.colours import coloured_groups
from core.scoring import column_title


def scatter(x, y, rid, hover, **kw) -> go.Scattergl:
    return go.Scattergl(
        x=x, y=y, mode="markers", customdata=rid, hovertext=hover, hovertemplate="%{hovertext}<extra></extra>", **kw
    )


def figure(view: dict, color_by: str, values: np.ndarray, *, numeric: bool, names: dict) -> go.Figure:
    """The drawn points of ``view`` (``core.map.workspace.map_view``), coloured by ``values`` (one per point).

    Args:
        numeric: ``color_by`` is a score column: a colour scale; otherwise a trace per value.
        names: the clusters' names, for the legend when ``color_by`` is "cluster".
    """
    fig = go.Figure()
    if numeric:
        marker = {
            "size": 4,
            "color": values,
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": column_title(color_by)},
        }
        fig.add_trace(scatter(view["x"], view["y"], view["rid"], view["hover"], marker=marker))
    else:
        traces = []
        for value, idx, colour in coloured_groups(values):
            name = f"{value}: {names.get(int(value), '')}" if color_by == "cluster" else str(value)
            traces.append(scatter(view["x"][idx], view["y"][idx], view["rid"][idx], view["hover"][idx], name=name,
                                  marker={"size": 4, "color": colour}))  # fmt: skip
        fig.add_traces(traces)
    fig.update_layout(
        height=600, margin={"t": 10, "b": 10, "l": 10, "r": 10}, dragmode="lasso", legend={"itemsizing": "constant"}
    )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig
