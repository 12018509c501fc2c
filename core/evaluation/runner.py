"""Running an evaluation: plan it once, then train and score each run that is not done yet, storing each as it
finishes. A killed or cancelled evaluation keeps its finished runs; running it again trains only the missing ones.

Each training run exports its samples with Winnow's own training export (TRL prompt/completion, no validation
split) into ``evaluations/<workspace>/<name>/<run>/data`` beside the workspace file, trains a LoRA adapter there
with TRL's SFTTrainer (``<run>/adapter``, with the tokenizer: a folder that loads on its own as a model, e.g. MoDS
necessity's fine-tuned model), and scores it on the held-out split and every eval file. The base model's run
trains nothing and is scored the same way.
"""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from core.digest import lines_sha256
from core.errors import WinnowError
from core.evaluation.config import HOLDOUT, EvaluationConfig, check_name
from core.evaluation.plan import plan_evaluation, read_eval_files
from core.evaluation.training import heldout_losses, load_adapted, train_adapter
from core.pause_points import pause_point
from core.progress import Progress
from core.store import SampleFilter, Store

VERSIONED = ("torch", "transformers", "trl", "peft", "datasets")


def evaluation_folder(store: Store, name: str) -> Path:
    """Where an evaluation keeps its runs' exports and adapters: ``evaluations/<workspace>/<name>`` beside the
    workspace file (two workspaces in one folder keep theirs apart)."""
    return store.path.parent / "evaluations" / store.path.stem / check_name(name)


_running: set[tuple[str, str]] = set()  # (workspace, evaluation) under way in this process
_running_lock = threading.Lock()


@contextmanager
def _only_one(store: Store, name: str):
    """Refuse a second run of one evaluation in this process (two sessions pressing Start): both would train the
    same runs into the same folders. (Another process cannot open the workspace to write at all.)"""
    key = (str(store.path.resolve()), name)
    with _running_lock:
        if key in _running:
            raise WinnowError(f"evaluation {name!r} is already running; wait for it, or cancel it")
        _running.add(key)
    try:
        yield
    finally:
        with _running_lock:
            _running.discard(key)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in VERSIONED:
        try:
            out[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover - requirements.txt installs them all
            out[package] = None
    return out


def _base_model_dir(spec: str, settings) -> str:
    """The base model as a folder or hub id SFTTrainer can load: the bundled model's safetensors conversion
    (converted once here if needed), or the spec itself."""
    if spec:
        return str(Path(spec).expanduser().resolve()) if Path(spec).expanduser().exists() else spec
    from core.models.language import bundled_lm_cache, convert_bundled_lm

    folder = bundled_lm_cache(settings.cache_dir)
    if not (folder / "config.json").is_file():
        convert_bundled_lm(folder)
    return str(folder)


def start_or_resume(
    store: Store, name: str, config: EvaluationConfig | None, *, user: str, tokenizer=None, progress=None
) -> dict:
    """The evaluation ``name``: planned now when new (``config`` required), else the stored one, whose configuration
    must equal ``config`` when one is given.

    Returns:
        The stored evaluation (``Store.get_evaluation``).

    Raises:
        WinnowError: a new name without a configuration, or a stored evaluation asked to run with another one.
    """
    name = check_name(name)
    existing = {e["name"] for e in store.evaluations()}
    if name in existing:
        stored = store.get_evaluation(name)
        if config is not None and EvaluationConfig.from_dict(stored["config"]) != config:
            raise WinnowError(
                f"an evaluation named {name!r} exists with another configuration: resume it as it is, or give the "
                "new one another name"
            )
        return stored
    if config is None:
        raise WinnowError(f"no evaluation named {name!r}; configure one first")
    plan = plan_evaluation(store, config, tokenizer=tokenizer, progress=progress)
    store.create_evaluation(name, config=config.to_dict(), plan=plan.plan, runs=plan.runs, user=user)
    return store.get_evaluation(name)


def _eval_sets(stored: dict) -> dict[str, list[dict]]:
    """The items of every eval set, the held-out split first; eval files are read again and must be unchanged."""
    plan = stored["plan"]
    sets = {HOLDOUT: plan[HOLDOUT]}
    config = EvaluationConfig.from_dict(stored["config"])
    files = read_eval_files(config.eval_files)
    for record in plan["eval_files"]:
        now, items = files[record["name"]]
        if now["sha256"] != record["sha256"]:
            raise WinnowError(
                f"the eval file {record['path']} changed since evaluation {stored['name']!r} began: put the original "
                "back, or start a new evaluation"
            )
        sets[record["name"]] = items
    return sets


def run_evaluation(
    store: Store,
    name: str,
    config: EvaluationConfig | None = None,
    *,
    user: str,
    settings,
    progress: Progress | None = None,
) -> dict:
    """Plan (or find) the evaluation ``name`` and run every run not done yet, storing each as it finishes.

    Args:
        config: the configuration of a new evaluation; None (or the same) to resume a stored one.
        settings: ``core.settings.Settings`` (device, model cache).
        progress: ``progress(done, total, "run i of n (name): what")``: runs done of all at each run's start and
            end, training steps done of the run's steps while it trains ("step s of S, loss L"), eval sets scored
            while it scores; may raise ``Cancelled``, which stops after the current step with every finished run
            kept.

    Returns:
        {"name", "trained": the runs done in this call, "kept": those that were done before} and the report
        (``core.evaluation.report.evaluation_report``) under "report".

    Raises:
        WinnowError: bad configuration or data (see ``plan_evaluation``), an eval file changed since the plan.
        ModelUnavailable: the model or its tokenizer cannot be loaded, or has no chat template.
        Cancelled: the progress callback asked to stop.
    """
    say = progress or (lambda *a, **k: None)
    name = check_name(name)
    with _only_one(store, name):
        return _run(store, name, config, user=user, settings=settings, say=say)


def _run(store: Store, name: str, config: EvaluationConfig | None, *, user: str, settings, say) -> dict:
    from core.evaluation.report import evaluation_report
    from core.models.device import pick_device
    from core.training.chat_template import load_tokenizer

    spec = config.model if config is not None else None
    if spec is None and name in {e["name"] for e in store.evaluations()}:
        spec = store.get_evaluation(name)["config"].get("model", "")
    tokenizer = load_tokenizer(spec, cache_dir=settings.cache_dir)[0] if spec is not None else None
    stored = start_or_resume(store, name, config, user=user, tokenizer=tokenizer, progress=say)
    config = EvaluationConfig.from_dict(stored["config"])
    runs = store.evaluation_runs(name)
    kept = [r["run"] for r in runs if r["status"] == "done"]
    todo = [r for r in runs if r["status"] != "done"]
    trained: list[str] = []
    if todo:
        model_dir = _base_model_dir(config.model, settings)
        device = pick_device(settings.device)
        sets = _eval_sets(stored)
        folder = evaluation_folder(store, name)
        total = len(runs)
        for run in todo:
            index = run["position"]
            label = f"run {index + 1} of {total} ({run['run']})"
            say(index, total, f"{label}: starting")
            _check_unchanged(store, stored, run)
            store.record_run_curve(name, run["run"], [])  # a killed try's curve is not this one's
            result = _train_and_score(
                store, run, config, sets, tokenizer, model_dir, device, folder, user=user, say=say, label=label
            )
            store.finish_evaluation_run(
                name, run["run"], result=result["result"], losses=result["losses"], answers=result["answers"], user=user
            )
            trained.append(run["run"])
            say(index + 1, total, f"{label}: done")
            pause_point("evaluate.run_stored")
    return {"name": name, "trained": trained, "kept": kept, "report": evaluation_report(store, name)}


def _check_unchanged(store: Store, stored: dict, run: dict) -> None:
    """Refuse to train a run whose samples changed (edited, deleted) since the plan: its runs would no longer be
    trained on the same data version, nor checked against the eval data."""
    want = stored["plan"].get("content_sha256", {}).get(run["run"])
    if want is None or not run["train_ids"]:
        return
    arrays = store.sample_arrays(["id", "content_hash"], SampleFilter(ids=run["train_ids"]))
    now = dict(zip(arrays["id"], arrays["content_hash"], strict=True))
    missing = [i for i in run["train_ids"] if i not in now]
    if missing or lines_sha256(now[i] for i in run["train_ids"]) != want:
        what = f"{len(missing)} of its samples are gone" if missing else "some of its samples were edited"
        raise WinnowError(
            f"evaluation {stored['name']!r}, run {run['run']}: {what} since the evaluation was planned; its runs "
            "would train on different data. Start a new evaluation (another name) to evaluate the data as it is now"
        )


def _train_and_score(store, run, config, sets, tokenizer, model_dir, device, folder, *, user, say, label) -> dict:
    from core.training.export import export_training
    from core.training.pipeline import TrainingOptions

    run_dir = folder / run["run"]
    result: dict = {"train_samples": 0, "adapter_dir": None, "curve": [], "train_tokens": 0, "seconds": 0.0}
    adapter = None
    if run["train_ids"]:
        if run_dir.exists():  # what a killed try of this run left: its files are remade whole
            shutil.rmtree(run_dir)
        options = TrainingOptions(
            tokenizer=config.model,
            max_length=config.lora.max_length,
            fmt="prompt-completion",
            val_fraction=0.0,
            seed=config.seed,
        )
        say(0, None, f"{label}: exporting {len(run['train_ids'])} samples")
        report = export_training(
            store, run_dir, "data", user=user, filters=SampleFilter(ids=run["train_ids"]), options=options
        )

        curve: list[tuple[int, float]] = []
        written = [0.0]

        def step(done: int, total: int | None, message: str = "") -> None:
            say(done, total, f"{label}: step {done} of {total}, {message.removeprefix('train: ')}")

        def logged(at: int, loss: float) -> None:  # the live curve a page draws, written at most once a second
            curve.append((at, loss))
            if time.monotonic() - written[0] >= 1.0:
                store.record_run_curve(run["evaluation"], run["run"], curve)
                written[0] = time.monotonic()

        trained = train_adapter(
            model_dir,
            tokenizer,
            report.files["train"],
            run_dir,
            config.lora,
            device=device,
            progress=step,
            on_log=logged,
        )
        adapter = trained.adapter_dir
        result = {
            "train_samples": report.manifest["samples"]["written"]["train"],
            "adapter_dir": adapter,
            "curve": trained.curve,
            "train_tokens": trained.train_tokens,
            "seconds": round(trained.seconds, 3),
        }
    result["versions"] = _versions()
    model = load_adapted(model_dir, adapter, device=device)
    losses, answers = {}, {}
    for k, (set_name, items) in enumerate(sets.items()):
        say(k, len(sets), f"{label}: scoring {set_name} ({len(items)} items)")
        try:
            scored = heldout_losses(model, tokenizer, items, max_length=config.lora.max_length)
        except WinnowError as ex:
            raise WinnowError(f"scoring {set_name}: {ex}") from None
        losses[set_name] = (scored.nll, scored.tokens)
        if config.answers:
            answers[set_name] = generate_answers(model, tokenizer, items[: config.answers], config.answer_tokens)
    del model
    return {"result": result, "losses": losses, "answers": answers}


def generate_answers(model, tokenizer, items: list[dict], max_new_tokens: int) -> list[str]:
    """Greedy answers of ``model`` to each item's prompt (its chat template with the generation prompt), for a lead
    to read beside the eval item's own answer."""
    import torch

    from core.scoring.necessity import end_token_ids

    device = next(model.parameters()).device
    stop = end_token_ids(model, tokenizer)
    out = []
    with torch.no_grad():
        for item in items:
            ids = tokenizer.apply_chat_template(
                item["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
            limit = getattr(model.config, "max_position_embeddings", None)
            if limit:  # the prompt's last tokens (the question) when it is longer than the model reads
                ids = list(ids)[-max(1, limit - max_new_tokens) :]
            x = torch.tensor([list(ids)], device=device)
            generated = model.generate(
                input_ids=x,
                attention_mask=torch.ones_like(x),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=stop,
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop[0],
            )
            out.append(tokenizer.decode(generated[0, x.shape[1] :], skip_special_tokens=True).strip())
    return out
