"""The synthesis methods: Self-Instruct (Wang et al. 2023, as Stanford Alpaca runs it: one call writes several
tasks with their input and output) and Evol-Instruct (Xu et al. 2023, WizardLM: a chosen instruction rewritten
deeper, with one more constraint or more reasoning, or broader, a new one in the same domain; then answered).

Both draw on seed tasks, ask a backend (``core.synthesis.backends``) with a prompt file a lead can edit
(``prompts/``), and pass what comes back through ``InstructionFilter``. Pure: nothing here touches the workspace.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import Cancelled, WinnowError
from core.synthesis.backends import Sampling
from core.synthesis.filters import InstructionFilter

PROMPTS = Path(__file__).parent / "prompts"
METHODS = ("self-instruct", "evol")
EXAMPLES_PER_PROMPT = 3  # seed tasks shown per Self-Instruct prompt
TASKS_PER_PROMPT = 5  # new tasks asked for per Self-Instruct prompt
NO_INPUT = "<noinput>"


@dataclass(frozen=True)
class Task:
    """A seed or a new task: instruction, optional input, output; ``seed_ids`` the seeds it came from."""

    instruction: str
    input: str = ""
    output: str = ""
    seed_ids: tuple[str, ...] = ()


@dataclass
class Outcome:
    """What a synthesis run gave: the kept tasks (with their highest ROUGE-L against the pool), how many were
    generated, and what was dropped, by rule (a reply with no task in it counts under "reply held no task", and is
    not a generated task)."""

    kept: list[tuple[Task, float]] = field(default_factory=list)
    generated: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    def drop(self, rule: str) -> None:
        self.dropped[rule] = self.dropped.get(rule, 0) + 1


def prompt_template(method: str, kind: str | None = None, path: str | None = None) -> tuple[str, str]:
    """(the template's text, its SHA-256): the file given, else the bundled one for the method."""
    if path is None:
        name = "self_instruct.txt" if method == "self-instruct" else f"evol_{kind}.txt"
        path = str(PROMPTS / name)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as ex:
        raise WinnowError(f"cannot read the prompt file {path}: {ex.strerror or ex}") from None
    needed = "{examples}" if method == "self-instruct" else "{instruction}"
    if needed not in text:
        raise WinnowError(f"the prompt file {path} has no {needed} placeholder")
    return text, hashlib.sha256(text.encode()).hexdigest()


def _format(task: Task) -> str:
    return f"Instruction: {task.instruction}\nInput: {task.input or NO_INPUT}\nOutput: {task.output}"


_FIELD = re.compile(r"^\s*(?:\d+\.\s*)?(instruction|input|output)\s*[:：]\s*", re.IGNORECASE | re.MULTILINE)


def parse_tasks(text: str) -> list[Task]:
    """The tasks in a Self-Instruct reply: chunks between ``###`` lines, each with Instruction/Input/Output fields
    (Input may be ``<noinput>``); a chunk without an instruction or an output is skipped."""
    tasks = []
    for chunk in re.split(r"^\s*###\s*$", text, flags=re.MULTILINE):
        parts = _FIELD.split(chunk)
        fields: dict[str, str] = {}
        for name, value in zip(parts[1::2], parts[2::2], strict=True):
            fields.setdefault(name.lower(), value.strip())
        instruction, output = fields.get("instruction", ""), fields.get("output", "")
        if instruction and output:
            given = fields.get("input", "")
            tasks.append(Task(instruction, "" if given.strip().lower() in (NO_INPUT, "") else given, output))
    return tasks


def self_instruct(
    backend,
    seeds: list[tuple[str, Task]],
    n: int,
    sampling: Sampling,
    *,
    template: str,
    max_calls: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Outcome:
    """Generate until ``n`` tasks are kept (or ``max_calls`` prompts are spent, default ``2 n``).

    Each prompt shows ``EXAMPLES_PER_PROMPT`` seed tasks (drawn with ``sampling.seed``) and asks for
    ``TASKS_PER_PROMPT`` new ones; in a reply cut off at the length limit, the last task is dropped as cut off.
    """
    if not seeds:
        raise WinnowError("Self-Instruct needs seed tasks")
    rng = random.Random(sampling.seed)
    screen = InstructionFilter([t.instruction for _, t in seeds])
    out = Outcome()
    budget = max_calls if max_calls is not None else 2 * n
    while len(out.kept) < n and out.calls < budget:
        if cancelled is not None and cancelled():
            raise Cancelled("synthesis was cancelled")
        shown = rng.sample(seeds, min(EXAMPLES_PER_PROMPT, len(seeds)))
        examples = "\n###\n".join(_format(t) for _, t in shown)
        prompt = template.replace("{count}", str(TASKS_PER_PROMPT)).replace("{examples}", examples)  # seeds verbatim
        (reply,) = backend.complete([prompt], Sampling(**{**sampling.__dict__, "seed": sampling.seed + out.calls}))
        out.calls += 1
        tasks = parse_tasks(reply.text)
        if not tasks:  # a reply the parser finds no Instruction/Output in (small models often wander off)
            out.drop("reply held no task")
        for k, task in enumerate(tasks):
            out.generated += 1
            cut = not reply.finished and k == len(tasks) - 1
            verdict = screen.check(task.instruction, cut_off=cut)
            if not verdict.kept:
                out.drop(verdict.rule)
            elif len(out.kept) < n:
                out.kept.append(
                    (Task(task.instruction, task.input, task.output, tuple(i for i, _ in shown)), verdict.rouge_l_max)
                )
        if progress:
            progress(len(out.kept), n, f"self-instruct: {len(out.kept)} of {n} kept, {out.generated} generated")
    return out


def evol_instruct(
    backend,
    seeds: list[tuple[str, Task]],
    n: int,
    sampling: Sampling,
    *,
    templates: dict[str, str],
    max_calls: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Outcome:
    """Rewrite seeds (deepening or breadth, alternately from a random start) until ``n`` new tasks are kept, each
    then answered by the same backend; at most ``max_calls`` rewrites (default ``2 n``)."""
    if not seeds:
        raise WinnowError("Evol-Instruct needs seed samples to rewrite")
    rng = random.Random(sampling.seed)
    screen = InstructionFilter([t.instruction for _, t in seeds])
    out = Outcome()
    budget = max_calls if max_calls is not None else 2 * n
    kinds = ["deepen", "breadth"]
    while len(out.kept) < n and out.calls < budget:
        if cancelled is not None and cancelled():
            raise Cancelled("synthesis was cancelled")
        seed_id, seed = rng.choice(seeds)
        kind = kinds[(out.calls + rng.randrange(2)) % 2]
        prompt = templates[kind].replace("{instruction}", seed.instruction)
        step = Sampling(**{**sampling.__dict__, "seed": sampling.seed + out.calls})
        (rewrite,) = backend.complete([prompt], step)
        out.calls += 1
        instruction = re.sub(r"^\s*#?\s*(rewritten|created) prompt#?\s*[:：]\s*", "", rewrite.text, flags=re.I).strip()
        out.generated += 1
        verdict = screen.rule_reason(instruction, cut_off=not rewrite.finished)
        if verdict is not None:
            out.drop(verdict[0])
            continue
        (answer,) = backend.complete([instruction], step)
        checked = screen.check(instruction, cut_off=not answer.finished or not answer.text.strip())
        if not checked.kept:
            out.drop(checked.rule)
            continue
        out.kept.append((Task(instruction, "", answer.text.strip(), (seed_id,)), checked.rouge_l_max))
        if progress:
            progress(len(out.kept), n, f"evol ({kind}): {len(out.kept)} of {n} kept, {out.generated} generated")
    return out
