"""Export's training-ready part: the chosen samples rendered with a chat template, with token counts,
truncation, packing and a train/validation split, written as a folder of TRL files (``core.training``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import streamlit as st

from core import actions
from core.errors import WinnowError
from core.models.access import check_model_allowed
from core.store import SampleFilter, Store
from core.training.pipeline import MAX_LENGTH_LIMIT, OVER_LENGTH, TRAINING_FORMATS, TrainingOptions
from pages import _common


def training_export(store: Store, export_dir: Path, flt: SampleFilter, params_base: dict, name_problem) -> None:
    """The controls, the job and its report. ``params_base``: the export's filters as the job records them;
    ``name_problem``: why a folder name cannot be used, or None."""

    st.divider()
    st.subheader("Training-ready export")
    st.caption(
        "The samples chosen above, rendered with a chat template: token counts, truncation, packing efficiency and a "
        "train/validation split, written as a folder of TRL files with LLaMA-Factory's dataset_info.json and a manifest."
    )
    t1, t2, t3 = st.columns(3)
    tokenizer = t1.text_input(
        "Tokenizer", key="train_tokenizer", placeholder="bundled SmolLM2-135M-Instruct", help="HF id or local folder"
    ).strip()
    max_length = t2.number_input(
        "Max length (tokens)", min_value=16, max_value=MAX_LENGTH_LIMIT, value=2048, step=256, key="train_max_length"
    )
    train_fmt = t3.selectbox("Shape", TRAINING_FORMATS, key="train_format", help="TRL messages, or prompt/completion")
    u1, u2, u3 = st.columns(3)
    val_fraction = u1.number_input("Validation share", 0.0, 0.5, 0.05, step=0.01, key="train_val_fraction")
    seed = u2.number_input("Split seed", min_value=0, value=0, key="train_seed")
    over_length = u3.selectbox("Longer than max length", OVER_LENGTH, key="train_over_length", help="cut, or leave out")
    v1, v2 = st.columns([2, 1])
    folder = v1.text_input("Folder name", key="train_name", placeholder="winnow-training").strip() or "winnow-training"
    pack = v2.checkbox("Packed Parquet too", key="train_pack", help="input_ids, labels, position_ids per packed row")
    folder_problem = name_problem(folder)
    if folder_problem:
        st.error(folder_problem, icon="🚫")
    elif (export_dir / folder).exists() and not st.checkbox(  # core would replace an earlier training export: ask
        f"Replace the existing `{folder}`", key="train_replace", help="An earlier export wrote it."
    ):
        folder_problem = f"{folder} exists in the export folder: choose another name or tick Replace"
        st.warning(folder_problem, icon="⚠️")
    options = TrainingOptions(
        tokenizer=tokenizer,
        max_length=int(max_length),
        fmt=train_fmt,
        val_fraction=float(val_fraction),
        seed=int(seed),
        pack=pack,
        over_length=over_length,
    )

    training_running = _common.job_running(store, "training_job")
    b1, b2 = st.columns(2)
    measure = b1.button("Report only", key="train_report", disabled=training_running, width="stretch")
    write = b2.button(
        "Write training files",
        type="primary",
        key="train_go",
        disabled=training_running or bool(folder_problem),
        width="stretch",
    )
    model_problem = None
    if measure or write:
        try:  # only the models this server's settings allow (WINNOW_MODEL_DIR, WINNOW_ALLOW_MODELS)
            check_model_allowed(tokenizer, _common.settings(), "tokenizer")
        except WinnowError as ex:
            model_problem = str(ex)
            st.error(model_problem, icon="🚫")
    if not model_problem and (measure or (write and not folder_problem)):
        user = _common.acting_user()

        def train_work(progress):
            return actions.training_files(
                store,
                export_dir=export_dir,
                folder=folder if write else None,
                filters=flt,
                options=options,
                user=user,
                progress=progress,
            )

        params = {"training": asdict(options), "folder": folder if write else None, **params_base}
        _common.start_job(store, "training_job", "export", params, train_work, user=user)

    finished = _common.job_panel(store, "training_job", "Tokenizing", unit="samples")
    if finished is not None:
        result = _common.job_result(finished)
        if result is not None:
            m = result["manifest"]
            written, cut = m["samples"]["written"], m["truncation"]
            if result["folder"]:
                st.success(
                    f"Wrote {written['train']:,} training and {written['validation']:,} validation samples to "
                    f"`{result['folder']}`."
                )
            k1, k2, k3, k4 = st.columns(4)
            k1.metric("Samples", f"{written['train']:,} + {written['validation']:,}", help="train + validation")
            k2.metric("Tokens", f"{m['tokens']['total']:,}", help=f"{m['tokens']['answer']:,} of them answer tokens")
            cut_help = f"{cut['answer_tokens_lost']:,} answer tokens lost ({cut['action']})"
            k3.metric(f"Over {cut['max_length']:,} tokens", f"{cut['samples']:,}", help=cut_help)
            packed = m["packing"]["train"]
            pack_help = f"{packed['rows']:,} rows; one sample per padded row: {packed['padding_efficiency']:.1%}"
            k4.metric("Packing efficiency", f"{packed['efficiency']:.1%}", help=pack_help)
            advice = m["advice"]
            st.info(
                f"**Method: {advice['method']}** (default {advice['default']}). {advice['why']}  \n_{advice['citation']}_"
            )
            for warning in m["warnings"]:
                st.warning(warning)
            with st.expander("Training manifest"):
                st.json(m, expanded=False)
