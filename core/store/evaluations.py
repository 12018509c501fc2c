"""Evaluations of a selection by fine-tuning: the ``evaluations`` table (configuration and plan: the held-out split,
the eval sets), ``evaluation_runs`` (one row per training run, planned and then done), ``evaluation_losses`` (each
finished run's loss on each eval item) and ``evaluation_answers`` (answers generated for reading). ``core.evaluation``
plans and runs them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from core.errors import NotFound, WinnowError
from core.store.base import _now, _one

_RUN_KEYS = (
    "evaluation",
    "run",
    "position",
    "kind",
    "seed",
    "train_ids",
    "status",
    "train_samples",
    "adapter_dir",
    "curve",
    "train_tokens",
    "seconds",
    "versions",
    "finished_at",
)


class Evaluations:
    """Saving an evaluation's plan, each run as it finishes, and reading them back."""

    def create_evaluation(self, name: str, *, config: dict, plan: dict, runs: Sequence[dict], user: str) -> None:
        """Save a new evaluation with its runs planned (none trained yet), in one transaction.

        Args:
            config: what the lead asked for (JSON-able).
            plan: what was drawn from it (JSON-able): the held-out split, the eval sets.
            runs: per run, in order: {"run": its name, "kind", "seed" (or None), "train_ids": sample ids}.

        Raises:
            WinnowError: the name is empty or taken.
        """
        name = (name or "").strip()
        if not name:
            raise WinnowError("an evaluation needs a name")
        now = _now()

        def body(cur):
            self.authorize(user, "evaluate", cur=cur)
            if cur.execute("SELECT 1 FROM evaluations WHERE name = ?", [name]).fetchall():
                raise WinnowError(f"an evaluation named {name!r} exists already")
            cur.execute(
                "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?)",
                [name, json.dumps(config, sort_keys=True), json.dumps(plan), now, user],
            )
            for position, run in enumerate(runs):
                cur.execute(
                    "INSERT INTO evaluation_runs (evaluation, run, position, kind, seed, train_ids) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [name, run["run"], position, run["kind"], run["seed"], json.dumps(list(run["train_ids"]))],
                )
            self._log_in(cur, "evaluate", user, None, {"name": name, "runs": [r["run"] for r in runs]})

        self._retrying(body)

    def get_evaluation(self, name: str) -> dict:
        """One evaluation: {name, config, plan, created_at, created_by} with config and plan parsed.

        Raises:
            NotFound: no evaluation has that name.
        """
        row = _one(
            self.cursor()
            .execute("SELECT name, config, plan, created_at, created_by FROM evaluations WHERE name = ?", [name])
            .fetchall()
        )
        if row is None:
            raise NotFound(f"no evaluation named {name!r}")
        return {
            "name": row[0],
            "config": json.loads(row[1]),
            "plan": json.loads(row[2]),
            "created_at": row[3],
            "created_by": row[4],
        }

    def evaluations(self) -> list[dict]:
        """Every evaluation, newest first: {name, created_at, created_by, runs, done}."""
        rows = (
            self.cursor()
            .execute(
                "SELECT e.name, e.created_at, e.created_by, count(r.run), count(r.run) FILTER (r.status = 'done') "
                "FROM evaluations e LEFT JOIN evaluation_runs r ON r.evaluation = e.name "
                "GROUP BY ALL ORDER BY e.created_at DESC, e.name"
            )
            .fetchall()
        )
        keys = ("name", "created_at", "created_by", "runs", "done")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def evaluations_of_selection(self, selection: str) -> list[str]:
        """The names of the evaluations whose candidate is the saved selection ``selection``, oldest first."""
        rows = (
            self.cursor()
            .execute(
                "SELECT name FROM evaluations WHERE json_extract_string(config, '$.selection') = ? "
                "ORDER BY created_at, name",
                [selection],
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def evaluation_runs(self, name: str) -> list[dict]:
        """An evaluation's runs in plan order, with ``train_ids``, ``curve`` ([[step, loss]]) and ``versions``
        parsed; a run not trained yet has status "planned" and None in what training fills."""
        rows = (
            self.cursor()
            .execute(
                f"SELECT {', '.join(_RUN_KEYS)} FROM evaluation_runs WHERE evaluation = ? ORDER BY position", [name]
            )
            .fetchall()
        )
        out = []
        for r in rows:
            run = dict(zip(_RUN_KEYS, r, strict=True))
            for key in ("train_ids", "curve", "versions"):
                run[key] = json.loads(run[key]) if run[key] is not None else None
            out.append(run)
        return out

    def record_run_curve(self, name: str, run: str, curve: Sequence[tuple[int, float]]) -> None:
        """The training curve so far of a run under way ([(step, loss)]), for a page to draw live."""
        self._retrying(
            lambda cur: cur.execute(
                "UPDATE evaluation_runs SET curve = ? WHERE evaluation = ? AND run = ?",
                [json.dumps([list(p) for p in curve]), name, run],
            )
        )

    def finish_evaluation_run(
        self,
        name: str,
        run: str,
        *,
        result: dict,
        losses: Mapping[str, tuple[np.ndarray, np.ndarray]],
        answers: Mapping[str, Sequence[str]],
        user: str,
    ) -> None:
        """Record a finished run in one transaction: what training gave and its loss on every eval item.

        Args:
            result: {"train_samples", "adapter_dir", "curve", "train_tokens", "seconds", "versions"}.
            losses: per eval set, (summed NLL per item, scored tokens per item), in item order.
            answers: per eval set, the answers generated for its first items (may be empty).
        """
        tables = []
        for eval_set, (nll, tokens) in losses.items():
            n = len(nll)
            tables.append(
                pa.table(
                    {
                        "evaluation": pa.array([name] * n, pa.string()),
                        "run": pa.array([run] * n, pa.string()),
                        "eval_set": pa.array([eval_set] * n, pa.string()),
                        "item": pa.array(range(n), pa.int32()),
                        "nll": pa.array(np.asarray(nll, dtype=np.float64)),
                        "tokens": pa.array(np.asarray(tokens, dtype=np.int32)),
                    }
                )
            )
        answer_rows = [(eval_set, i, text) for eval_set, texts in answers.items() for i, text in enumerate(texts)]

        def body(cur):
            self.authorize(user, "evaluate", cur=cur)
            for table in ("evaluation_losses", "evaluation_answers"):
                cur.execute(f"DELETE FROM {table} WHERE evaluation = ? AND run = ?", [name, run])
            for table in tables:
                cur.register("new_losses", table)
                try:
                    cur.execute("INSERT INTO evaluation_losses SELECT * FROM new_losses")
                finally:
                    cur.unregister("new_losses")
            for eval_set, item, text in answer_rows:
                cur.execute("INSERT INTO evaluation_answers VALUES (?, ?, ?, ?, ?)", [name, run, eval_set, item, text])
            updated = cur.execute(
                "UPDATE evaluation_runs SET status = 'done', train_samples = ?, adapter_dir = ?, curve = ?, "
                "train_tokens = ?, seconds = ?, versions = ?, finished_at = ? WHERE evaluation = ? AND run = ? "
                "RETURNING run",
                [
                    result.get("train_samples"),
                    result.get("adapter_dir"),
                    json.dumps(result.get("curve") or []),
                    result.get("train_tokens"),
                    result.get("seconds"),
                    json.dumps(result.get("versions") or {}),
                    _now(),
                    name,
                    run,
                ],
            ).fetchall()
            if not updated:
                raise NotFound(f"evaluation {name!r} has no run {run!r}")

        self._retrying(body)

    def evaluation_losses(self, name: str) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """The finished runs' losses: {run: {eval set: (summed NLL per item, tokens per item)}}, items in order."""
        table = (
            self.cursor()
            .sql(
                "SELECT run, eval_set, nll, tokens FROM evaluation_losses WHERE evaluation = ? "
                "ORDER BY run, eval_set, item",
                params=[name],
            )
            .to_arrow_table()
        )
        out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        runs = table.column("run").to_pylist()
        sets = table.column("eval_set").to_pylist()
        nll = table.column("nll").to_numpy()
        tokens = table.column("tokens").to_numpy()
        start = 0
        for end in range(1, len(runs) + 1):
            if end == len(runs) or (runs[end], sets[end]) != (runs[start], sets[start]):
                out.setdefault(runs[start], {})[sets[start]] = (nll[start:end].copy(), tokens[start:end].copy())
                start = end
        return out

    def evaluation_answers(self, name: str) -> dict[str, dict[str, list[str]]]:
        """The answers each finished run generated: {run: {eval set: [answer per item, in item order]}}."""
        rows = (
            self.cursor()
            .execute(
                "SELECT run, eval_set, answer FROM evaluation_answers WHERE evaluation = ? "
                "ORDER BY run, eval_set, item",
                [name],
            )
            .fetchall()
        )
        out: dict[str, dict[str, list[str]]] = {}
        for run, eval_set, answer in rows:
            out.setdefault(run, {}).setdefault(eval_set, []).append(answer)
        return out

    def delete_evaluation(self, name: str, *, user: str) -> bool:
        """Delete an evaluation and its runs' records (audited; the adapters' folders stay). Returns whether it
        existed."""

        def body(cur):
            self.authorize(user, "delete", cur=cur)
            for table in ("evaluation_answers", "evaluation_losses", "evaluation_runs"):
                cur.execute(f"DELETE FROM {table} WHERE evaluation = ?", [name])
            gone = bool(cur.execute("DELETE FROM evaluations WHERE name = ? RETURNING name", [name]).fetchall())
            if gone:
                self._log_in(cur, "evaluation", user, None, {"deleted": name})
            return gone

        return self._retrying(body)
