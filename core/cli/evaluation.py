"""The CLI's evaluate command: fine-tune on a selection and on random subsets of its size, and compare their
held-out losses (``core.evaluation``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import WinnowError
from core.progress import terminal_progress


class EvalFileAction(argparse.Action):
    """``--eval-file FILE`` adds a test set; an ``--eval-map`` right after it gives that file's field mapping."""

    def __call__(self, parser, namespace, values, option_string=None):
        files = list(getattr(namespace, "eval_files", None) or [])
        if option_string == "--eval-file":
            files.append([values, None])
        elif not files:
            raise argparse.ArgumentError(self, "--eval-map follows the --eval-file it maps")
        else:
            files[-1][1] = values
        namespace.eval_files = files


def add_evaluate_parser(sub, add_db) -> None:
    p = sub.add_parser(
        "evaluate",
        help="fine-tune on a selection and on random subsets of its size; compare held-out loss",
        description="Train a LoRA adapter (TRL SFTTrainer, peft) on the candidate and on K random subsets of the "
        "same size from the same pool, score each on a held-out split and on eval files, and compare. Running the "
        "same command again resumes: finished runs are kept.",
    )
    add_db(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--selection", help="the saved selection to evaluate")
    what.add_argument("--recipe", help="a recipe file (YAML) to run on the pool without the held-out split")
    p.add_argument(
        "--name",
        help="the evaluation's name (default: SELECTION-vs-random or RECIPE-vs-random); alone, without --selection "
        "or --recipe, it resumes that evaluation as it was configured (on the Evaluate page, say)",
    )
    p.add_argument("--random", type=int, default=3, metavar="K", help="random subsets to train (default 3)")
    p.add_argument(
        "--eval-file",
        dest="eval_files",
        action=EvalFileAction,
        metavar="FILE",
        help="a test set (any format Winnow imports), read and never imported; repeat for more",
    )
    p.add_argument(
        "--eval-map",
        dest="eval_files",
        action=EvalFileAction,
        metavar="MAP",
        help="the field mapping of the --eval-file before it, e.g. prompt=question,response=answer",
    )
    p.add_argument("--holdout", type=float, default=0.05, metavar="FRACTION", help="share of the pool held out (0.05)")
    p.add_argument("--holdout-max", type=int, default=500, help="at most this many held-out samples (500)")
    p.add_argument(
        "--pool", default="not_rejected", choices=["not_rejected", "accepted", "any"], help="samples the pool holds"
    )
    p.add_argument("--model", default="", help="base model: Hugging Face id or folder (default: the bundled SmolLM2)")
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--epochs", type=float, default=1.0, help="passes over each training set (default 1)")
    steps.add_argument("--max-steps", type=int, help="train this many steps instead")
    p.add_argument("--max-length", type=int, default=1024, help="tokens per sample (default 1024)")
    p.add_argument("--batch-size", type=int, default=8, help="samples per step (default 8)")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=float, default=32)
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0, help="seed of the split and training; random subset k uses seed+k")
    p.add_argument("--no-base", action="store_true", help="do not score the untrained base model")
    p.add_argument("--all-accepted", action="store_true", help="also train on every accepted sample of the pool")
    p.add_argument("--answers", type=int, default=0, metavar="N", help="generate answers to N prompts per eval set")
    p.add_argument(
        "--eval-overlap-ok",
        action="store_true",
        help="go on when training samples overlap an eval file (copies, or 13 words in a row): they are left out of "
        "every training subset (without it, such an evaluation is refused)",
    )
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default $WINNOW_DEVICE or auto)")
    p.add_argument("--json", action="store_true", help="print the runs and the comparison as JSON")
    p.set_defaults(func=cmd_evaluate)


def config_from_args(args):
    """The ``EvaluationConfig`` the flags ask for."""
    from core.evaluation.config import EvalFile, EvaluationConfig
    from core.evaluation.training import LoraSettings
    from core.selection.recipe import read_recipe_file

    recipe = read_recipe_file(args.recipe) if args.recipe else None
    files = []
    for path, mapping in args.eval_files or []:
        if not Path(path).is_file():
            raise WinnowError(f"no eval file {path}")
        files.append(EvalFile(str(Path(path).resolve()), mapping))
    lora = LoraSettings(
        r=args.lora_r,
        alpha=args.lora_alpha,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_length=args.max_length,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    config = EvaluationConfig(
        selection=args.selection,
        recipe=recipe,
        random_runs=args.random,
        holdout=args.holdout,
        holdout_max=args.holdout_max,
        eval_files=tuple(files),
        model=args.model,
        lora=lora,
        seed=args.seed,
        pool=args.pool,
        base=not args.no_base,
        all_accepted=args.all_accepted,
        answers=args.answers,
        eval_overlap_ok=args.eval_overlap_ok,
    )
    config.check()
    return config


def cmd_evaluate(args, settings) -> int:
    from core.actions import evaluate
    from core.evaluation.report import evaluation_report, json_summary
    from core.store import Store

    if args.selection or args.recipe:
        config = config_from_args(args)
        name = args.name or f"{args.selection or Path(args.recipe).stem}-vs-random"
    elif args.name:
        config, name = None, args.name  # resume it with its stored configuration
    else:
        raise WinnowError("give --selection NAME or --recipe FILE (or --name NAME alone to resume an evaluation)")
    settings = settings.with_(device=args.device)
    with Store(settings.db) as store:
        with terminal_progress("evaluate", "run") as progress:
            done = evaluate(store, name, config, user=settings.user, settings=settings, progress=progress)
        report = evaluation_report(store, done["name"])
    if args.json:
        print(json.dumps(json_summary(report), ensure_ascii=False, indent=2))
        return 0
    kept = f"; kept {len(done['kept'])} finished before" if done["kept"] else ""
    print(f"evaluation {done['name']!r}: trained {len(done['trained'])} runs{kept}")
    for line in report_lines(report):
        print(line)
    return 0


def report_lines(report: dict) -> list[str]:
    """The evaluation in a few lines: each run's loss per eval set, then the candidate against random."""
    sets = list(next((r["eval_loss"] for r in report["runs"] if r["eval_loss"]), {}))
    lines = [f"  {'run':<14} {'samples':>8} " + " ".join(f"{s[:16]:>16}" for s in sets)]
    for r in report["runs"]:
        cells = " ".join(f"{r['eval_loss'].get(s, float('nan')):>16.4f}" for s in sets)
        lines.append(f"  {r['run']:<14} {r['train_samples'] or 0:>8} {cells}")
    for s, c in report["comparison"].items():
        low, high = c["difference_95"]
        lines.append(
            f"  {s}: selection {c['candidate']:.4f} vs random {c['random_mean']:.4f} ({c['random_runs']} runs): "
            f"{c['difference']:+.4f} [95 % {low:+.4f}, {high:+.4f}]: {c['verdict']}"
        )
    lines.append("  (mean per-token NLL on the assistant tokens; lower is better)")
    return lines
