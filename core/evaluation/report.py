"""An evaluation's results as a lead reads them (and ``--json`` prints them): each run's loss on each eval set, the
candidate against the random runs with intervals, the base model as a reference, the held-out loss per task label
and per source, the training curves and the answers generated for reading."""

from __future__ import annotations

import math

import numpy as np

from core.digest import lines_sha256
from core.evaluation.compare import EvalLosses, paired_bootstrap, seed_spread
from core.evaluation.config import HOLDOUT
from core.store import Store

NO_LABEL = "(unlabeled)"


def _loss(nll: np.ndarray, tokens: np.ndarray) -> float | None:
    total = float(tokens.sum())
    return float(nll.sum()) / total if total else None


def verdict(candidate: float, difference_95: tuple[float, float], random_losses: list[float]) -> str:
    """How the candidate did against random data of its size, in words. "better" needs both: the whole bootstrap
    interval of (candidate minus the random mean) below zero (the eval items agree) and a lower loss than every
    random run (not a win over one unlucky draw of the baseline); "worse" is the mirror of both; else "no clear
    difference". Lower loss is better."""
    if difference_95[1] < 0 and candidate < min(random_losses):
        return "better"
    if difference_95[0] > 0 and candidate > max(random_losses):
        return "worse"
    return "no clear difference"


def compare_runs(losses: dict[str, dict[str, tuple]], runs: list[dict], *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Per eval set: the candidate's loss, the random runs' mean with its spread across seeds (95 % t interval),
    candidate minus that mean with a 95 % paired bootstrap interval over eval items, the base model's loss, and a
    verdict. Sets without a finished candidate and at least one finished random run are left out."""
    done = {r["run"]: r for r in runs if r["status"] == "done"}
    candidate = next((r["run"] for r in runs if r["kind"] == "selection" and r["run"] in done), None)
    randoms = [r["run"] for r in runs if r["kind"] == "random" and r["run"] in done]
    base = next((r["run"] for r in runs if r["kind"] == "base" and r["run"] in done), None)
    if candidate is None or not randoms:
        return {}
    out = {}
    for set_name in losses[candidate]:
        cand = EvalLosses(*losses[candidate][set_name])
        rand = [EvalLosses(*losses[r][set_name]) for r in randoms]
        diff = paired_bootstrap(cand, rand, n_boot=n_boot, seed=seed)
        spread = seed_spread([r.loss() for r in rand])
        entry = {
            "candidate": cand.loss(),
            "random_mean": spread.estimate,
            "random_runs": len(rand),
            "random_spread_95": [spread.low, spread.high],
            "difference": diff.estimate,
            "difference_95": [diff.low, diff.high],
            "candidate_perplexity": math.exp(cand.loss()),
            "random_perplexity": math.exp(spread.estimate),
            "base": EvalLosses(*losses[base][set_name]).loss() if base else None,
            "items": len(cand.nll),
            "verdict": verdict(cand.loss(), (diff.low, diff.high), [r.loss() for r in rand]),
        }
        out[set_name] = entry
    return out


def holdout_groups(plan: dict, losses: dict[str, dict[str, tuple]], runs: list[dict]) -> dict[str, list[dict]]:
    """The held-out loss of every finished run per task label and per source: {"task_label": [{"group", "items",
    "<run>": loss, ...}], "source": [...]}, groups by how many items they hold."""
    items = plan[HOLDOUT]
    done = [r["run"] for r in runs if r["status"] == "done" and HOLDOUT in losses.get(r["run"], {})]
    out = {}
    for key, dimension in (("label", "task_label"), ("source", "source")):
        groups: dict[str, list[int]] = {}
        for k, item in enumerate(items):
            groups.setdefault(item.get(key) or NO_LABEL, []).append(k)
        rows = []
        for group, where in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
            row = {"group": group, "items": len(where)}
            for run in done:
                nll, tokens = losses[run][HOLDOUT]
                row[run] = _loss(nll[where], tokens[where])
            rows.append(row)
        out[dimension] = rows
    return out


def evaluation_report(store: Store, name: str, *, n_boot: int = 2000) -> dict:
    """Everything about the evaluation ``name`` (finished runs so far).

    Returns:
        {"name", "config", "plan": sizes and the candidate (without the held-out items), "complete": every run done,
        "runs": [{"run", "kind", "seed", "train_samples", "status", "eval_loss": {set: mean per-token NLL},
        "perplexity": {set: exp of it}, "train_tokens", "seconds", "curve", "adapter_dir"}], "comparison": per set
        (``compare_runs``), "groups": per task label and source within the held-out split (``holdout_groups``),
        "answers": {set: [{"item", "prompt", "reference", "<run>": answer}]}}. Lower loss is better.
    """
    stored = store.get_evaluation(name)
    runs = store.evaluation_runs(name)
    losses = store.evaluation_losses(name)
    out_runs = []
    for r in runs:
        per_set = losses.get(r["run"], {})
        eval_loss = {s: _loss(*v) for s, v in per_set.items()}
        out_runs.append(
            {
                "run": r["run"],
                "kind": r["kind"],
                "seed": r["seed"],
                "train_samples": r["train_samples"] if r["status"] == "done" else len(r["train_ids"]),
                "status": r["status"],
                "eval_loss": eval_loss,
                "perplexity": {s: math.exp(v) if v is not None else None for s, v in eval_loss.items()},
                "train_tokens": r["train_tokens"],
                "seconds": r["seconds"],
                "curve": r["curve"] or [],
                "adapter_dir": r["adapter_dir"],
            }
        )
    plan = stored["plan"]
    return {
        "name": stored["name"],
        "config": stored["config"],
        "plan": {k: v for k, v in plan.items() if k not in (HOLDOUT, "eval_files")}
        | {"holdout_items": len(plan[HOLDOUT]), "eval_files": [_without(f, "shown") for f in plan["eval_files"]]},
        "complete": all(r["status"] == "done" for r in runs),
        "runs": out_runs,
        "comparison": compare_runs(losses, runs, n_boot=n_boot, seed=stored["config"].get("seed", 0)),
        "groups": holdout_groups(plan, losses, runs),
        "answers": _answers(store, name, stored),
    }


def _answers(store: Store, name: str, stored: dict) -> dict[str, list[dict]]:
    generated = store.evaluation_answers(name)
    if not generated:
        return {}
    shown = {HOLDOUT: stored["plan"][HOLDOUT]} | {f["name"]: f.get("shown", []) for f in stored["plan"]["eval_files"]}
    out: dict[str, list[dict]] = {}
    for run, sets in generated.items():
        for set_name, answers in sets.items():
            rows = out.setdefault(set_name, [])
            for k, answer in enumerate(answers):
                if k == len(rows):
                    rows.append({"item": k + 1})
                    if k < len(shown.get(set_name, [])):
                        rows[k]["prompt"] = _last_user(shown[set_name][k]["prompt"])
                        rows[k]["reference"] = _text(shown[set_name][k]["completion"])
                rows[k][run] = answer
    return out


def _without(d: dict, key: str) -> dict:
    return {k: v for k, v in d.items() if k != key}


def _last_user(messages: list[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def _text(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages if isinstance(m.get("content"), str))


def json_summary(report: dict) -> dict:
    """The CLI's ``--json``: {"runs": [{"run", "kind", "seed", "train_samples", "eval_loss"}], "comparison"}."""
    keys = ("run", "kind", "seed", "train_samples", "eval_loss")
    return {"runs": [{k: r[k] for k in keys} for r in report["runs"]], "comparison": report["comparison"]}


def manifest_entries(store: Store, selection: str) -> list[dict]:
    """What an export manifest says of the evaluations of ``selection``: per evaluation its name, whether it
    evaluated the selection's present members, whether every run is done, and per eval set the candidate minus random with its interval and verdict."""
    out = []
    members = lines_sha256(store.selection_ids(selection))
    for name in store.evaluations_of_selection(selection):
        runs = store.evaluation_runs(name)
        comparison = compare_runs(store.evaluation_losses(name), runs, n_boot=1000)
        candidate = store.get_evaluation(name)["plan"]["candidate"]
        out.append(
            {
                "name": name,
                # False: the selection was saved again with other members since; the evaluation is of the old one
                "same_members": candidate.get("members_sha256") == members,
                "complete": all(r["status"] == "done" for r in runs),
                "comparison": {
                    s: {k: c[k] for k in ("candidate", "random_mean", "difference", "difference_95", "verdict")}
                    for s, c in comparison.items()
                },
            }
        )
    return out


def compare_evaluations(store: Store, names: list[str]) -> list[dict]:
    """Several evaluations side by side: one row per evaluation and eval set, with the candidate, the random mean,
    the difference and its interval, the base model and the verdict (sets without a comparison yet are left out)."""
    rows = []
    for name in names:
        report = evaluation_report(store, name, n_boot=1000)
        candidate = report["plan"]["candidate"]
        for eval_set, c in report["comparison"].items():
            rows.append(
                {
                    "evaluation": name,
                    "candidate": candidate.get("name") or "recipe",
                    "train samples": candidate["train_samples"],
                    "eval set": eval_set,
                    "selection": c["candidate"],
                    "random mean": c["random_mean"],
                    "difference": c["difference"],
                    "95 % low": c["difference_95"][0],
                    "95 % high": c["difference_95"][1],
                    "base": c["base"],
                    "verdict": c["verdict"],
                }
            )
    return rows
