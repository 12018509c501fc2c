"""Synthesize (for leads): new pending samples from seed tasks by Self-Instruct or Evol-Instruct, through an
OpenAI-compatible endpoint or a local model, as a background job; the report says what was kept and why the rest was
dropped."""

from __future__ import annotations

import streamlit as st

from core.errors import WinnowError
from core.importing.uploads import save_upload
from core.models.access import check_model_allowed
from core.synthesis.backends import LocalBackend, OpenAIBackend, Sampling
from core.synthesis.workspace import seeds_from_file, seeds_from_selection, synthesize
from pages import _common

store = _common.current_store()
_common.require("import", "Synthesis")
user = _common.acting_user()

st.title("Synthesize")
st.caption(
    "Self-Instruct writes new tasks from a few seed tasks shown as examples; Evol-Instruct rewrites chosen seeds "
    "deeper (one more constraint, more reasoning) or broader (a new task in the same domain) and answers them. New "
    "instructions too close to an existing one (ROUGE-L above 0.7), of 3 words or fewer or over 150, asking for "
    "images or files, starting with punctuation, or whose answer was cut off are dropped. What is kept arrives as "
    "pending samples: nothing enters a selection unreviewed."
)

method = st.radio("Method", ["self-instruct", "evol"], horizontal=True, key="synth_method")
where = st.radio("Seeds", ["A saved selection", "A seed file"], horizontal=True, key="synth_where")
seeds, problem = [], None
try:
    if where == "A saved selection":
        names = [s["name"] for s in store.selections()]
        chosen = st.selectbox("Selection", names, key="synth_selection") if names else None
        if chosen is None:
            problem = "no saved selection yet: make one on the Select page, or upload a seed file"
        else:
            seeds = seeds_from_selection(store, chosen)
    else:
        up = st.file_uploader(
            "Seed file (Self-Instruct's seed_tasks.jsonl, or any format Winnow imports)", key="synth_file"
        )
        mapping = st.text_input(
            "Field mapping (optional)", key="synth_map", placeholder="prompt=question,response=answer"
        )
        if up is None:
            problem = "upload a seed file"
        else:
            saved = save_upload(
                up.getbuffer(),
                up.name,
                up.file_id,
                folder=store.path.parent / "uploads" / "seeds",
                limit_mb=_common.settings().max_upload_mb,
                keep_name=True,
            )
            seeds = seeds_from_file(saved, mapping=mapping.strip() or None)
except WinnowError as ex:
    problem = str(ex)

c1, c2, c3 = st.columns(3)
n = c1.number_input("New samples to keep", 1, 10_000, 20, key="synth_n")
temperature = c2.number_input("Temperature", 0.0, 2.0, 0.7, step=0.1, key="synth_temperature")
max_tokens = c3.number_input("Longest reply (tokens)", 16, 8192, 1024, step=64, key="synth_max_tokens")
allowed = _common.settings().synth_endpoints
base_url = (
    st.selectbox(
        "Backend",
        ["", *allowed],
        key="synth_base_url",
        format_func=lambda u: u or "the local model",
        help="OpenAI-compatible endpoints the server's admin allows (WINNOW_SYNTH_ENDPOINTS), e.g. llama-cpp-python's "
        "server: python -m llama_cpp.server --model PATH",
    )
    or ""
)
model = st.text_input(
    "Model", key="synth_model", placeholder="the endpoint's model name, or empty for the bundled SmolLM2"
).strip()
st.caption("An endpoint's API key is read from the server's OPENAI_API_KEY environment variable, never typed here.")

if problem:
    st.caption(f"To start: {problem}")
elif seeds:
    st.caption(f"{len(seeds):,} seed tasks.")
running = _common.job_running(store, "synth_job")
if st.button("Start", type="primary", key="synth_go", disabled=bool(problem) or not seeds or running):
    try:
        if base_url:
            backend = OpenAIBackend(base_url, model)
        else:
            if model:
                check_model_allowed(model, _common.settings(), "synthesis model")
            backend = LocalBackend(model, settings=_common.settings())
        sampling = Sampling(float(temperature), 1.0, int(max_tokens), 0)
        sampling.check()
    except WinnowError as ex:
        _common.show_error(ex)
    else:

        def work(progress):
            return synthesize(
                store,
                method=method,
                seeds=seeds,
                n=int(n),
                backend=backend,
                sampling=sampling,
                user=user,
                progress=progress,
            )

        params = {"method": method, "n": int(n), "model": backend.name, "seeds": len(seeds)}
        _common.start_job(store, "synth_job", "synthesize", params, work, user=user)

finished = _common.job_panel(store, "synth_job", "Synthesizing", unit="samples")
if finished is not None:
    report = _common.job_result(finished)
    if report is not None:
        dropped = ", ".join(f"{k}: {v}" for k, v in report["dropped"].items()) or "none"
        st.success(
            f"{report['generated']} generated in {report['calls']} calls; {report['kept']} kept as pending samples "
            f"(review them in Review); dropped: {dropped}."
        )
