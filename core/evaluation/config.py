"""What a lead asks an evaluation for: ``EvaluationConfig``, stored with the evaluation (as JSON) so that it can be
reopened, resumed and compared with another."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.errors import WinnowError
from core.evaluation.training import LoraSettings

HOLDOUT = "holdout"  # the held-out split's name among the eval sets
POOLS = ("not_rejected", "accepted", "any")
MAX_RANDOM_RUNS = 20
# An evaluation's name is also its folder's name (adapters live there): letters of any script, digits, - _ . and spaces.
_NAME = re.compile(r"[^\W_][\w .-]{0,79}")


@dataclass(frozen=True)
class EvalFile:
    """A test set a lead brings: a file in any format Winnow imports, with a field mapping for other shapes
    ("prompt=question,response=answer"). Its name in results is its file name."""

    path: str
    mapping: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class EvaluationConfig:
    """An evaluation: a candidate (a saved selection, or a recipe run on the spot on the training pool) trained
    against ``random_runs`` random subsets of the same size from the same pool.

    Attributes:
        selection: the saved selection to evaluate; or
        recipe: a recipe's YAML text, run on the pool without the held-out split.
        random_runs: how many random subsets (each with its own recorded seed).
        holdout: the share of the pool held out for evaluation, drawn first, by groups of copies.
        holdout_max: at most this many held-out samples (scoring them is part of every run's time).
        eval_files: test sets read for scoring, never imported.
        model: the base model: empty for the bundled SmolLM2-135M-Instruct, else a Hugging Face id or a folder.
        lora: the LoRA training settings.
        seed: the seed of the held-out split and of training; random subset k is drawn with ``seed + k``.
        pool: which samples the pool holds: "not_rejected", "accepted" or "any" (a selection's members always).
        base: also score the untrained base model, as a reference line.
        all_accepted: also train on every accepted sample of the training pool.
        answers: generate answers to this many prompts of each eval set with every run, to read side by side.
        answer_tokens: the most new tokens such an answer has.
        eval_overlap_ok: go on when samples of the training pool overlap an eval file (copies, or a shared run of
            13 words): they are left out of every training subset. Otherwise the evaluation is refused.
    """

    selection: str | None = None
    recipe: str | None = None
    random_runs: int = 3
    holdout: float = 0.05
    holdout_max: int = 500
    eval_files: tuple[EvalFile, ...] = ()
    model: str = ""
    lora: LoraSettings = field(default_factory=LoraSettings)
    seed: int = 0
    pool: str = "not_rejected"
    base: bool = True
    all_accepted: bool = False
    answers: int = 0
    answer_tokens: int = 128
    eval_overlap_ok: bool = False

    def check(self) -> None:
        """Raise WinnowError naming the first setting that cannot work."""
        if bool(self.selection) == bool(self.recipe):
            raise WinnowError("evaluate either a saved selection or a recipe (one of the two)")
        if not 1 <= int(self.random_runs) <= MAX_RANDOM_RUNS:
            raise WinnowError(f"random runs must be 1 to {MAX_RANDOM_RUNS}: a comparison needs a random baseline")
        if not 0 < float(self.holdout) < 1:
            raise WinnowError(f"the held-out fraction is a share of the pool above 0 and below 1, not {self.holdout}")
        if int(self.holdout_max) < 1:
            raise WinnowError("the held-out split needs at least one sample (holdout_max ≥ 1)")
        if self.pool not in POOLS:
            raise WinnowError(f"the pool is one of {', '.join(POOLS)}, not {self.pool!r}")
        lora = self.lora
        if lora.r < 1 or lora.alpha <= 0 or lora.learning_rate <= 0 or lora.batch_size < 1:
            raise WinnowError("LoRA needs r ≥ 1, alpha > 0, a learning rate > 0 and a batch size ≥ 1")
        if lora.max_steps is None and lora.epochs <= 0:
            raise WinnowError("train for some epochs (> 0) or a number of steps")
        if lora.max_steps is not None and lora.max_steps < 1:
            raise WinnowError("max steps must be at least 1")
        if not 16 <= lora.max_length <= 1 << 20:
            raise WinnowError(f"max length must be 16 tokens or more, not {lora.max_length}")
        if self.answers < 0 or self.answer_tokens < 1:
            raise WinnowError("answers to generate must be 0 or more, with at least 1 new token each")
        names = [HOLDOUT]
        for f in self.eval_files:
            if f.name in names:
                raise WinnowError(
                    f"two eval sets would be named {f.name!r} (an eval file is named by its file name, and "
                    f"{HOLDOUT!r} is the held-out split): rename one file"
                )
            names.append(f.name)

    def to_dict(self) -> dict:
        """The configuration as JSON-able data (``from_dict`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EvaluationConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["lora"] = LoraSettings(**values.get("lora", {}))
        values["eval_files"] = tuple(EvalFile(**f) for f in values.get("eval_files", ()))
        return cls(**values)


def check_name(name: str) -> str:
    """The evaluation's name, trimmed; it names its folder of adapters too.

    Raises:
        WinnowError: empty, or with characters other than letters, digits, spaces and - _ . (or too long).
    """
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise WinnowError(
            f"an evaluation's name is up to 80 letters, digits, spaces and - _ . starting with a letter or digit, "
            f"not {name!r}"
        )
    return name
