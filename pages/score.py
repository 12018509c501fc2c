"""Score: compute difficulty (IFD), embeddings, signals and reward scores in a background job; see the results."""

from __future__ import annotations

import json

import plotly.express as px
import streamlit as st

from core import actions
from core.errors import WinnowError
from core.scoring import available_scorers, get_scorer
from core.scoring.engines import Engine
from core.scoring.knowledge import FAST as KNOWLEDGE_FAST
from core.scoring.runner import check_models
from core.store import SampleFilter
from pages import _common

store = _common.current_store()
settings = _common.settings()

st.title("Score")
st.caption(
    "Scores are kept per content: editing a sample re-queues only that sample, duplicates are scored once, and a "
    "stopped run resumes where it stopped. IFD above 1 means the instruction does not help the model answer."
)

NEW_LOCAL_RAY = "a new local Ray"
PRECISIONS = {
    "auto": "auto (bf16 on a GPU, fp32 on a CPU)",
    "fp32": "fp32: exact",
    "bf16": "bf16: fast, ranks kept, scores ~0.02 off",
    "fp16": "fp16",
}
ORDER = ["heuristics", "embedding", "ifd", "reward", "necessity", "knowledge", "decontam"]
names = [n for n in ORDER if n in available_scorers()] + [n for n in available_scorers() if n not in ORDER]

with st.form("score_form"):
    chosen = st.multiselect(
        "Scorers", names, key="score_scorers", default=[n for n in ("heuristics", "embedding", "ifd") if n in names]
    )
    c1, c2, c3 = st.columns(3)
    model = c1.text_input(
        "Language model (IFD)",
        key="score_model",
        placeholder="bundled SmolLM2-135M-Instruct",
        help="A Hugging Face id or a local path. Empty: $WINNOW_MODEL, else the bundled model.",
    )
    template = c2.selectbox("IFD template", ["auto", "chat", "alpaca", "plain"], key="score_template")
    max_length = c3.number_input(
        "IFD max tokens", key="score_max_length", min_value=16, max_value=32768, value=512, step=64
    )
    d1, d2, d3 = st.columns(3)
    embedder = d1.text_input(
        "Embedder",
        key="score_embedder",
        placeholder="bundled use-multilingual (reads Chinese and English)",
        help="A bundled embedder (use-multilingual, e5-small, minilm), or a Hugging Face id or a local path of a "
        "sentence-transformers model. Empty: $WINNOW_EMBEDDER, else use-multilingual. Another embedder embeds the "
        "workspace again; its vectors never mix with another's.",
    )
    embed_text = d2.selectbox(
        "Embed",
        ["instruction", "conversation"],
        help="The instruction only (as MoDS) or the whole conversation (as Superfiltering-D)",
    )
    reward_model = d3.text_input(
        "Reward model",
        key="score_reward_model",
        placeholder="none bundled",
        help="A sequence-classification reward model, e.g. a local copy of "
        "OpenAssistant/reward-model-deberta-v3-large-v2. The necessity scorer uses it too.",
    )
    f1, f2 = st.columns([2, 1])
    necessity_model = f1.text_input(
        "Fine-tuned model (necessity)",
        key="score_necessity_model",
        placeholder="required for necessity",
        help="MoDS necessity: the model fine-tuned on the seed selection (a Hugging Face id or a local path, such as "
        "an adapter the Evaluate page trained: evaluations/WORKSPACE/NAME/selection/adapter beside the workspace). It answers "
        "every instruction and the reward model scores its answers; 'bundled' tries the bundled SmolLM2.",
    )
    max_new_tokens = f2.number_input(
        "Necessity answer tokens", key="score_max_new_tokens", min_value=1, max_value=8192, value=512, step=64
    )
    knowledge_fast = st.checkbox(
        "Knowledge: fast (3 prompts × 4 samples)",
        key="score_knowledge_fast",
        help="SliCK asks 10 four-shot prompts, each answered greedily and 16 times sampled: 170 answers a sample "
        "(slow on a CPU: minutes for a few dozen samples). Fast asks 15: it blurs MaybeKnown and HighlyKnown "
        "and finds fewer WeaklyKnown. The knowledge scorer uses the language model above.",
    )
    e1, e2 = st.columns(2)
    device = e1.selectbox(
        "Device",
        ["auto", "cpu", "cuda", "mps"],
        index=["auto", "cpu", "cuda", "mps"].index(settings.device)
        if settings.device in ("auto", "cpu", "cuda", "mps")
        else 0,
    )
    dtypes = ["auto", "fp32", "bf16", "fp16"]
    dtype = e2.selectbox(
        "Precision",
        dtypes,
        key="score_dtype",
        index=dtypes.index(settings.dtype) if settings.dtype in dtypes else 0,
        format_func=PRECISIONS.get,
        help="bf16 is the fast choice for IFD on a CPU with bf16 matmuls (AVX512-BF16, AMX): ~1.8x the fp32 engine. "
        "What it gives up: scores are not identical to fp32 (up to ~0.02 apart), though the ranking holds (on "
        "Alpaca: Spearman 0.9998 against fp32, 49 of the top 50 the same, Cherry's picks ranked as well). Without "
        "bf16 matmuls it is emulated and slower. The precision is not part of a score's key, so fp32 and bf16 "
        "results would share one column: score a workspace in one precision.",
    )
    g1, g2, g3, g4 = st.columns([1, 2, 1, 1])
    engine_kind = g1.selectbox(
        "Engine",
        ["local", "ray"],
        key="score_engine",
        help="local: this server, one scorer at a time. ray: an actor pool of Ray Data (each actor loads the model "
        "once), on a new local Ray or a cluster the server's admin listed in WINNOW_RAY_ADDRESSES. Same scores.",
    )
    address = g2.selectbox("Ray address", [NEW_LOCAL_RAY, *settings.ray_addresses], key="score_ray_address")
    actors = g3.number_input("Ray actors", key="score_ray_actors", min_value=1, max_value=512, value=1)
    gpus = g4.number_input(
        "GPUs per actor",
        key="score_ray_gpus",
        min_value=0.0,
        max_value=8.0,
        value=0.0,
        step=0.25,
        help="0 on CPUs; 1 gives each actor a GPU; 0.5 puts two actors on one GPU.",
    )
    start = st.form_submit_button(
        "Start scoring", type="primary", key="score_go", disabled=_common.job_running(store, "score_job")
    )

params = {
    "ifd": {"model": model.strip(), "template": template, "max_length": int(max_length)},
    "embedding": {"model": embedder.strip(), "text": embed_text},
    "reward": {"model": reward_model.strip()},
    "knowledge": {"model": model.strip(), **(KNOWLEDGE_FAST if knowledge_fast else {})},
    "necessity": {
        "model": necessity_model.strip(),
        "reward_model": reward_model.strip(),
        "max_new_tokens": int(max_new_tokens),
    },
}
job_settings = settings.with_(device=device, dtype=dtype, db=store.path)  # its evaluations' adapters
engine = Engine("local", in_worker=True)  # pages stay responsive while it scores
if engine_kind == "ray":
    engine = Engine(
        "ray", address=None if address == NEW_LOCAL_RAY else address, actors=int(actors), gpus_per_actor=float(gpus)
    )

if start and chosen:
    user = _common.acting_user()
    try:  # build the scorers now, so a bad parameter is said here rather than in the job
        check_models(chosen, params, job_settings)
        for name in chosen:  # the decontamination scorer reads the eval sets: none yet is said here too
            get_scorer(name, job_settings, **params.get(name, {})).bind_workspace(store)
    except (KeyError, ValueError, WinnowError) as ex:
        st.error(str(ex).strip("'\""), icon="🚫")
    else:

        def work(progress):
            return actions.score(
                store, chosen, settings=job_settings, params=params, user=user, progress=progress, engine=engine
            )

        job_params = {
            "scorers": chosen,
            "params": {k: v for k, v in params.items() if k in chosen},
            "device": device,
            "dtype": dtype,
            "engine": str(engine),
        }
        _common.start_job(store, "score_job", "score", job_params, work, user=user)

finished = _common.job_panel(store, "score_job", "Scoring", unit="samples")
if finished is not None:
    result = _common.job_result(finished)
    if result is not None:
        for line in result.get("reports", []):
            st.success(line)

# ------------------------------------------------------------------------------------------- what is scored

st.subheader("Coverage")
current = store.scorer_keys()
if not current:
    st.info("Nothing scored yet. Choose scorers above and start.")
rows = []
for name, info in sorted(current.items()):
    todo, total = store.count_unscored(name, info["key"])
    rows.append(
        {
            "scorer": name,
            "scored": total - todo,
            "of": total,
            "key": info["key"],
            "params": json.dumps(info["params"], ensure_ascii=False),
            "updated": info["updated_at"],
        }
    )
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")

# ------------------------------------------------------------------------------------------- distributions

numeric = store.score_columns(numeric=True)
if numeric:
    st.subheader("Distributions")
    labels = [f"{c.column} ({c.scorer})" for c in numeric]
    default = [labels[i] for i, c in enumerate(numeric) if c.column in ("ifd", "reward", "h_answer_chars")][:3]
    shown = st.multiselect("Columns", labels, default=default or labels[:2])
    cols = st.columns(2)
    for i, label in enumerate(shown):
        column = numeric[labels.index(label)].column
        values = store.score_values(column)
        with cols[i % 2]:
            if not values:
                st.caption(f"{column}: no values yet")
                continue
            fig = px.histogram(x=values, nbins=50, labels={"x": column}, title=column)
            if column == "ifd":
                fig.add_vline(x=1.0, line_dash="dash", annotation_text="IFD = 1")
            fig.update_layout(height=300, margin={"t": 40, "b": 10, "l": 10, "r": 10}, showlegend=False)
            st.plotly_chart(fig, width="stretch")
    if any(c.column == "ifd" for c in numeric):
        above = store.count(SampleFilter(score_ranges={"ifd": (1.0, None)}))
        st.caption(f"{above:,} samples have IFD ≥ 1: the instruction does not help; Browse can filter them.")
