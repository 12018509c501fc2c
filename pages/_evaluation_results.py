"""The Evaluate page's results: the comparison, held-out loss per run with intervals, training curves, the loss per
task label and source, and the answers side by side."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.evaluation.report import evaluation_report
from core.store import Store

RUN_COLOURS = {"selection": "#d62728", "random": "#7f7f7f", "all-accepted": "#1f77b4", "base": "#2ca02c"}


def live_curves(store: Store, name: str) -> None:
    """The training curves of an evaluation under way, redrawn every few seconds."""

    @st.fragment(run_every=3)
    def draw() -> None:
        runs = store.evaluation_runs(name)  # none while the plan is still being drawn
        curves = {r["run"]: r["curve"] for r in runs if r["curve"]}
        if curves:
            st.plotly_chart(_curves_figure(curves), width="stretch", key="eval_live_curves")

    draw()


def _curves_figure(curves: dict) -> go.Figure:
    fig = go.Figure()
    for run, curve in curves.items():
        kind = "random" if run.startswith("random") else run
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in curve],
                y=[p[1] for p in curve],
                name=run,
                mode="lines",
                line={"color": RUN_COLOURS.get(kind, "#9467bd"), "width": 3 if run == "selection" else 1.5},
            )
        )
    fig.update_layout(height=300, xaxis_title="step", yaxis_title="training loss", margin={"t": 20, "b": 10})
    return fig


def _loss_figure(report: dict, eval_set: str) -> go.Figure:
    """Each finished run's loss on one eval set; the random runs' mean with its 95 % spread across seeds; the base
    model as a dashed line."""
    fig = go.Figure()
    comparison = report["comparison"].get(eval_set)
    for r in report["runs"]:
        loss = r["eval_loss"].get(eval_set)
        if loss is None or r["kind"] == "base":
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["run"]],
                y=[loss],
                mode="markers",
                name=r["run"],
                marker={"size": 12, "color": RUN_COLOURS.get(r["kind"], "#9467bd")},
                showlegend=False,
            )
        )
    if comparison:
        low, high = comparison["random_spread_95"]
        mean = comparison["random_mean"]
        fig.add_trace(
            go.Scatter(
                x=["random mean"],
                y=[mean],
                mode="markers",
                name="random mean",
                error_y={"type": "data", "symmetric": False, "array": [high - mean], "arrayminus": [mean - low]},
                marker={"size": 14, "color": "#444", "symbol": "diamond"},
                showlegend=False,
            )
        )
        if comparison["base"] is not None:
            fig.add_hline(y=comparison["base"], line_dash="dash", annotation_text="base model")
    fig.update_layout(height=320, yaxis_title="loss (mean NLL per answer token)", margin={"t": 30, "b": 10})
    return fig


@st.cache_data(max_entries=8, show_spinner=False)
def _report(path: str, name: str, revision: tuple, _store: Store) -> dict:
    """The report (bootstraps included) once per state of the evaluation's runs, not on every rerun."""
    return evaluation_report(_store, name)


def show(store: Store, name: str) -> None:
    """Everything about the evaluation ``name``, as far as it got."""
    revision = tuple((r["run"], r["status"], str(r["finished_at"])) for r in store.evaluation_runs(name))
    report = _report(str(store.path), name, revision, store)
    plan = report["plan"]
    candidate = plan["candidate"]
    what = f"selection **{candidate['name']}**" if candidate["kind"] == "selection" else "a recipe"
    done = sum(r["status"] == "done" for r in report["runs"])
    st.caption(
        f"Candidate: {what}, {candidate['train_samples']:,} training samples · pool {plan['pool']:,}, held out "
        f"{plan['holdout_items']:,} · {done} of {len(report['runs'])} runs done"
        + ("" if report["complete"] else " (resume it above to run the rest)")
    )
    sets = list(dict.fromkeys(s for r in report["runs"] for s in r["eval_loss"]))
    if not sets:
        st.info("No run has finished yet.")
        return
    for eval_set in sets:
        st.markdown(f"**{eval_set}**")
        c = report["comparison"].get(eval_set)
        if c:
            low, high = c["difference_95"]
            m1, m2, m3 = st.columns(3)
            m1.metric("Selection", f"{c['candidate']:.4f}", f"{c['difference']:+.4f} vs random", delta_color="inverse")
            m2.metric(f"Random mean ({c['random_runs']} seeds)", f"{c['random_mean']:.4f}")
            m3.metric("Base model", "—" if c["base"] is None else f"{c['base']:.4f}")
            st.caption(
                f"Selection minus random: {c['difference']:+.4f}, 95 % interval {low:+.4f} to {high:+.4f} (paired "
                f"bootstrap over {c['items']} eval items): **{c['verdict']}**."
            )
        st.plotly_chart(_loss_figure(report, eval_set), width="stretch", key=f"eval_loss_{eval_set}")
    curves = {r["run"]: r["curve"] for r in report["runs"] if r["curve"]}
    if curves:
        st.markdown("**Training curves**")
        st.plotly_chart(_curves_figure(curves), width="stretch", key="eval_curves")
    for dimension, rows in report["groups"].items():
        if len(rows) > 1 or dimension == "task_label":
            st.markdown(f"**Held-out loss per {dimension.replace('_', ' ')}**")
            st.dataframe(rows, hide_index=True, width="stretch", key=f"eval_groups_{dimension}")
    for eval_set, rows in report["answers"].items():
        with st.expander(f"Answers on {eval_set} ({len(rows)})"):
            st.dataframe(rows, hide_index=True, width="stretch", key=f"eval_answers_{eval_set}")
