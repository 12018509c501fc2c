"""Evaluate: does a selection train a better model than random data of its size? Configure an evaluation, run it
as a background job (resumable), and read the results."""

from __future__ import annotations

import streamlit as st

from core import actions
from core.errors import WinnowError
from core.evaluation.config import EvalFile, EvaluationConfig
from core.evaluation.report import compare_evaluations
from core.evaluation.runner import evaluation_folder
from core.evaluation.training import LoraSettings
from core.importing.uploads import save_upload
from core.models.access import check_model_allowed
from pages import _common, _evaluation_results

store = _common.current_store()
_common.require("evaluate", "run evaluations")

st.title("Evaluate")
st.caption(
    "Fine-tune a LoRA adapter (TRL's SFTTrainer, peft) on the selection and on random subsets of the same size from "
    "the same pool, and compare their loss on a held-out split drawn first (and on test files you bring). Lower loss "
    "is better. On a 2-core CPU a 300-sample run takes several minutes; finished runs are kept, so an evaluation "
    "that stops can be resumed."
)

# ------------------------------------------------------------------------------------------- configure

selections = [s["name"] for s in store.selections()]
how = st.radio("Candidate", ["A saved selection", "A recipe (YAML)"], horizontal=True, key="eval_how")
selection, recipe = None, None
if how == "A saved selection":
    if not selections:
        st.info("No selection saved yet: make one on the Select page, or evaluate a recipe.")
    selection = st.selectbox("Selection", selections, key="eval_selection") if selections else None
else:
    recipe = st.text_area(
        "Recipe (YAML), run on the pool without the held-out split",
        key="eval_recipe",
        height=160,
        placeholder="steps:\n  - ifd_top: {percent: 5}",
    ).strip()
default_name = f"{selection or 'recipe'}-vs-random"
name = st.text_input("Evaluation name", value=default_name, key=f"eval_name_{default_name}").strip()

c1, c2, c3, c4 = st.columns(4)
random_runs = c1.number_input("Random subsets", 1, 20, 3, key="eval_random")
holdout = c2.number_input("Held-out share", 0.01, 0.5, 0.05, step=0.01, key="eval_holdout")
holdout_max = c3.number_input("Held-out at most", 10, 100_000, 500, step=50, key="eval_holdout_max")
seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="eval_seed")
model = st.text_input(
    "Base model", key="eval_model", placeholder="empty: the bundled SmolLM2-135M-Instruct; or a Hugging Face id/folder"
).strip()
with st.expander("Training (LoRA on every linear layer)"):
    t1, t2, t3, t4 = st.columns(4)
    epochs = t1.number_input("Epochs", 0.1, 100.0, 1.0, step=0.5, key="eval_epochs")
    max_steps = t2.number_input("Max steps (0: by epochs)", 0, 1_000_000, 0, key="eval_max_steps")
    max_length = t3.number_input("Max length (tokens)", 16, 1 << 20, 1024, step=128, key="eval_max_length")
    batch_size = t4.number_input("Batch size", 1, 512, 8, key="eval_batch")
    l1, l2, l3 = st.columns(3)
    r = l1.number_input("r", 1, 1024, 16, key="eval_r")
    alpha = l2.number_input("alpha", 1.0, 4096.0, 32.0, key="eval_alpha")
    lr = l3.number_input("Learning rate", 1e-7, 1.0, 2e-4, format="%.6f", key="eval_lr")
uploads = st.file_uploader(
    "Eval files (any format Winnow imports; read, never imported)",
    accept_multiple_files=True,
    key="eval_files",
    help="Each is named by its file name in the results. Give a field mapping for other shapes.",
)
eval_files = []
for up in uploads or []:
    mapping = st.text_input(
        f"Field mapping for {up.name} (optional)",
        key=f"eval_map_{up.file_id}",
        placeholder="prompt=question,response=answer",
    ).strip()
    try:
        saved = save_upload(
            up.getbuffer(),
            up.name,
            up.file_id,
            folder=store.path.parent / "uploads" / "eval",
            limit_mb=_common.settings().max_upload_mb,
            keep_name=True,
        )
        eval_files.append(EvalFile(str(saved), mapping or None))
    except WinnowError as ex:
        _common.show_error(ex)
o1, o2, o3 = st.columns(3)
base = o1.checkbox("Score the base model too", value=True, key="eval_base")
all_accepted = o2.checkbox("Also train on all accepted", key="eval_all_accepted")
answers = o3.number_input("Answers to read per eval set", 0, 50, 0, key="eval_answers")
overlap_ok = st.checkbox(
    "Go on although the pool overlaps the eval files",
    key="eval_overlap_ok",
    help="Training samples that copy an eval item, or share 13 words in a row with one, make its scores say little; "
    "without this, such an evaluation is refused. With it, they are left out of every training subset.",
)

config, problem = None, None
try:
    if model:
        check_model_allowed(model, _common.settings(), "base model")
    lora = LoraSettings(
        r=int(r),
        alpha=float(alpha),
        learning_rate=float(lr),
        epochs=float(epochs),
        max_steps=int(max_steps) or None,
        max_length=int(max_length),
        batch_size=int(batch_size),
        seed=int(seed),
    )
    config = EvaluationConfig(
        selection=selection,
        recipe=recipe or None,
        random_runs=int(random_runs),
        holdout=float(holdout),
        holdout_max=int(holdout_max),
        eval_files=tuple(eval_files),
        model=model,
        lora=lora,
        seed=int(seed),
        base=base,
        all_accepted=all_accepted,
        answers=int(answers),
        eval_overlap_ok=overlap_ok,
    )
    config.check()
except WinnowError as ex:
    problem = str(ex)
    st.caption(f"To start: {problem}")

existing = {e["name"]: e for e in store.evaluations()}
running = _common.job_running(store, "eval_job")
resume = name in existing
label = "Resume evaluation" if resume else "Start evaluation"
if resume:
    e = existing[name]
    st.caption(
        f"**{name}** exists ({e['done']} of {e['runs']} runs done): resuming runs what is missing, with its stored "
        "configuration (the settings above are not used). Pick another name for a new evaluation."
    )
go = st.button(label, type="primary", key="eval_go", disabled=running or not name or (config is None and not resume))
if go:
    user = _common.acting_user()
    settings = _common.settings()
    use = None if resume else config

    def work(progress):
        return actions.evaluate(store, name, use, user=user, settings=settings, progress=progress)

    _common.start_job(store, "eval_job", "evaluate", {"name": name}, work, user=user)

finished = _common.job_panel(store, "eval_job", "Evaluating", message=True)
if running:
    _evaluation_results.live_curves(store, store.get_job(_common.remembered_job(store, "eval_job"))["params"]["name"])
if finished is not None:
    result = _common.job_result(finished)
    if result is not None:
        kept = f" ({len(result['kept'])} kept from before)" if result["kept"] else ""
        st.success(f"Evaluation **{result['name']}**: {len(result['trained'])} runs trained{kept}.")
        if st.session_state.get("eval_seen_job") != finished["job_id"]:
            st.session_state["eval_seen_job"] = finished["job_id"]
            st.session_state["eval_view"] = result["name"]

# ------------------------------------------------------------------------------------------- results

names = [e["name"] for e in store.evaluations()]
if not names:
    st.info("No evaluation yet.")
    st.stop()
st.subheader("Results")
if st.session_state.get("eval_view") not in names:
    st.session_state["eval_view"] = names[0]
shown = st.selectbox("Evaluation", names, key="eval_view")
_evaluation_results.show(store, shown)
others = st.multiselect("Compare with", [n for n in names if n != shown], key="eval_compare")
if others:
    st.dataframe(compare_evaluations(store, [shown, *others]), hide_index=True, width="stretch", key="eval_compared")
st.caption(
    f"Adapters are kept in `{evaluation_folder(store, shown)}/<run>/adapter`; give one as the necessity scorer's "
    "fine-tuned model (MoDS) on the Score page."
)
