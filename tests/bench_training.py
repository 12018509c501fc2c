"""``make bench`` section ``train``: how fast an evaluation run trains and scores with the bundled model, its peak
memory, and what that makes of the default evaluation of a 300-sample selection (4 trainings; target <= 30 min).

The run happens in a child process, so its peak memory (VmHWM) is the training's own. The data is synthetic
Alpaca-like text of our own (``bench.make_alpaca``), imported into a workspace and exported with Winnow's own
training export, as an evaluation does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN_SAMPLES = 64
SCORED_ITEMS = 64
DEFAULT_SELECTION = 300  # the reference evaluation: 300 samples, 1 candidate + 3 random trainings
DEFAULT_HOLDOUT = 250  # held-out items scored by each of its 5 runs (4 trained + the base model)
TARGET_MINUTES = 30

_CHILD = r"""
import json, re, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from bench import make_alpaca
from core.evaluation.runner import _base_model_dir
from core.evaluation.training import LoraSettings, heldout_losses, load_adapted, train_adapter
from core.importing.workspace import import_file
from core.settings import load_settings
from core.store import SampleFilter, Store
from core.training.chat_template import load_tokenizer
from core.training.export import export_training
from core.training.pipeline import TrainingOptions

folder = Path({folder!r})
settings = load_settings()
data = make_alpaca(folder / "alpaca.jsonl", {n_train} + {n_scored}, seed=7)
with Store(folder / "ws.duckdb") as store:
    import_file(store, data, user="bench")
    options = TrainingOptions(fmt="prompt-completion", max_length=1024, val_fraction=0.0)
    report = export_training(store, folder / "exports", "train", user="bench", filters=SampleFilter(), options=options)
rows = [json.loads(line) for line in Path(report.files["train"]).read_text().splitlines()]
train, scored = rows[: {n_train}], rows[{n_train} :]
(folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
tokenizer, _ = load_tokenizer("")
model_dir = _base_model_dir("", settings)
run = train_adapter(model_dir, tokenizer, folder / "train.jsonl", folder / "run", LoraSettings())
model = load_adapted(model_dir, run.adapter_dir)
t0 = time.perf_counter()
losses = heldout_losses(model, tokenizer, scored)
score_s = time.perf_counter() - t0
peak = int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({{
    "train_tokens": run.train_tokens, "train_s": run.seconds, "samples": len(train),
    "scored_items": len(scored), "scored_tokens": int(losses.tokens.sum()), "score_s": score_s,
    "peak_mib": peak / 1024,
}}))
"""


def bench_train() -> None:
    from bench import BENCH_DIR, verdict

    folder = BENCH_DIR / "train"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    code = _CHILD.format(
        root=str(ROOT), tests=str(ROOT / "tests"), folder=str(folder), n_train=TRAIN_SAMPLES, n_scored=SCORED_ITEMS
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"train    failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
        return
    m = json.loads(out.stdout.strip().splitlines()[-1])
    tokens_s = m["train_tokens"] / m["train_s"]
    per_sample_s = m["train_s"] / m["samples"]
    per_item_s = m["score_s"] / m["scored_items"]
    minutes = (4 * DEFAULT_SELECTION * per_sample_s + 5 * DEFAULT_HOLDOUT * per_item_s) / 60
    print(
        f"train    bundled SmolLM2-135M, LoRA r16 all-linear, batch 8, fp32 on CPU: {m['samples']} synthetic samples, "
        f"{m['train_tokens']:,} tokens in {m['train_s']:.1f} s = {tokens_s:,.0f} training tokens/s; peak memory "
        f"{m['peak_mib']:,.0f} MiB"
    )
    print(
        f"         held-out scoring {m['scored_items'] / m['score_s']:,.1f} items/s; the default evaluation of a "
        f"{DEFAULT_SELECTION}-sample selection (4 trainings, {DEFAULT_HOLDOUT} held-out items, 5 scorings) projects to "
        f"{minutes:.1f} min (target <= {TARGET_MINUTES} min) {verdict(minutes <= TARGET_MINUTES)}"
    )
