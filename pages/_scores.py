"""A sample's scores on a page: folded into one line that names the headline scores, over the full table."""

from __future__ import annotations

import streamlit as st

from core.scoring import column_title, score_text

# The scores a folded score panel names in its one line, when a sample has them (the others wait in the table).
HEADLINE_SCORES = ("ifd", "reward", "necessity_reward", "h_answer_chars", "h_prompt_lang", "h_refusal")


def folded_scores(scores: dict) -> None:
    """Scores folded into one line (an expander that names the headline scores) over the full table: a sample can
    have dozens, which would push what a reviewer acts on below the fold."""
    if not scores:
        st.caption("No scores yet.")
        return
    head = [f"{column_title(c)} {score_text(scores[c])}" for c in HEADLINE_SCORES if scores.get(c) is not None][:4]
    with st.expander(f"Scores ({len(scores)})" + (f": {' · '.join(head)}" if head else "")):
        render_scores(scores)


def render_scores(scores: dict) -> None:
    """Scores as a compact table: each in words, its value, and its column's name (there can be dozens: metrics
    would truncate them)."""
    if not scores:
        st.caption("No scores yet.")
        return
    rows = [{"score": column_title(n), "value": score_text(v), "column": n} for n, v in scores.items()]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=min(35 * len(rows) + 38, 420),
        column_config={
            "score": st.column_config.TextColumn(help="What the score measures, in words"),
            "column": st.column_config.TextColumn(
                help="The score's column: its name in recipes, filters, exports and the Score page"
            ),
        },
    )
