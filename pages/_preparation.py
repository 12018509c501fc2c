"""The demo's preparation (``core.demo``), as the app shows it: progress in the sidebar, a note on the pages that
wait for it."""

from __future__ import annotations

import streamlit as st

from core import demo, jobs
from core.store import Store

SEEN_KEY = "demo_preparation_seen"  # {"job": id, "steps_done": n}: what this session last drew


def sidebar_panel(store: Store) -> None:
    """While the workspace is being prepared, a progress bar that follows it; when it ends, one line saying so.

    Each finished step reruns the whole page, so the page shows what that step made (the map, the labels, IFD).
    """
    job = demo.preparation_job(store)
    seen = st.session_state.get(SEEN_KEY)
    if job is None:
        if seen is not None:  # it ended since this session last looked
            st.session_state.pop(SEEN_KEY)
            ended = store.get_job(seen["job"])
            if ended["status"] == "done":
                st.success("The demo is prepared: map, clusters, labels and IFD.", icon=":material/check:")
            elif ended["status"] == "cancelled":
                st.info("Stopped preparing the demo: the Score, Explore and Balance pages run what is left.")
            elif ended["status"] == "failed":
                reason = (ended["error"] or "no reason recorded").strip().splitlines()[-1]
                st.error(f"Preparing the demo failed: {reason}", icon="🚫")
        return
    job_id = job["job_id"]
    st.session_state[SEEN_KEY] = {"job": job_id, "steps_done": demo.preparation_progress(job)["steps_done"]}

    @st.fragment(run_every=1.0)
    def poll() -> None:
        job = store.get_job(job_id)
        where = demo.preparation_progress(job)
        if not jobs.is_alive(job_id) or where["steps_done"] != st.session_state[SEEN_KEY]["steps_done"]:
            st.rerun(scope="app")
        st.progress(where["fraction"], text=f"Preparing the demo, {where['message']}")
        st.caption("Use the app meanwhile: each page fills in as its step ends.")
        if st.button("Stop preparing", key="demo_preparation_stop", help="For good: it will not start again by itself"):
            store.request_cancel(job_id)

    poll()


def note(store: Store, waiting_for: str) -> bool:
    """On a page whose content the preparation is still making, say so (``waiting_for``: "The map").

    Returns:
        True when the preparation runs (the page should not offer to start the same work).
    """
    job = demo.preparation_job(store)
    if job is None:
        return False
    where = demo.preparation_progress(job)
    st.info(
        f"{waiting_for} is being prepared for the demo ({where['message']}); it appears here when that step ends. "
        "The sidebar shows the progress.",
        icon=":material/hourglass_top:",
    )
    return True
