"""The CLI's synthesize command: new pending samples from seeds by Self-Instruct or Evol-Instruct
(``core.synthesis``)."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import WinnowError
from core.progress import terminal_progress


def add_synthesize_parser(sub, add_db) -> None:
    p = sub.add_parser(
        "synthesize",
        help="new pending samples from seeds: Self-Instruct or Evol-Instruct, through an endpoint or a local model",
        description="Generate new samples from seed tasks with a backend (an OpenAI-compatible endpoint, or the local "
        "model: the bundled SmolLM2 by default), filter them as Self-Instruct does (ROUGE-L > 0.7 to an existing "
        "instruction, <= 3 or > 150 words, blocklisted words, leading punctuation, answers cut off) and import what "
        "is kept as pending samples into the workspace, with their provenance in the audit log.",
    )
    add_db(p)
    p.add_argument("--method", required=True, choices=["self-instruct", "evol"])
    seeds = p.add_mutually_exclusive_group(required=True)
    seeds.add_argument(
        "--seeds", metavar="FILE", help="seed tasks: Self-Instruct's seed_tasks.jsonl, or any import format"
    )
    seeds.add_argument("--seed-selection", metavar="NAME", help="seed tasks: a saved selection's members")
    p.add_argument(
        "--seeds-map", metavar="MAP", help="the field mapping of --seeds, e.g. prompt=question,response=answer"
    )
    p.add_argument("--n", type=int, required=True, help="new samples to keep")
    p.add_argument("--base-url", help="an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (default: local)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="the variable holding the endpoint's key")
    p.add_argument("--model", default="", help="the endpoint's model name, or a local HF id or path (default bundled)")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=1024, help="longest reply (a cut-off answer is dropped)")
    p.add_argument("--seed", type=int, default=0, help="fixes the seeds drawn and the sampling")
    p.add_argument("--prompt-file", help="your own prompt (Self-Instruct: with {examples}; Evol: {instruction})")
    p.add_argument("--max-calls", type=int, help="most prompts sent (default 2 x --n)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_synthesize)


def cmd_synthesize(args, settings) -> int:
    from core.store import Store
    from core.synthesis.backends import LocalBackend, OpenAIBackend, Sampling
    from core.synthesis.workspace import seeds_from_file, seeds_from_selection, synthesize

    if args.seeds and not Path(args.seeds).is_file():
        raise WinnowError(f"no seed file {args.seeds}")
    sampling = Sampling(args.temperature, args.top_p, args.max_tokens, args.seed)
    sampling.check()
    backend = (
        OpenAIBackend(args.base_url, args.model, api_key_env=args.api_key_env)
        if args.base_url
        else LocalBackend(args.model, settings=settings)
    )
    with Store(settings.db) as store:
        seeds = (
            seeds_from_file(args.seeds, mapping=args.seeds_map)
            if args.seeds
            else seeds_from_selection(store, args.seed_selection)
        )
        if not seeds:
            raise WinnowError("no seed tasks: the seed file or selection holds none")
        with terminal_progress("synthesize", "sample") as progress:
            report = synthesize(
                store,
                method=args.method,
                seeds=seeds,
                n=args.n,
                backend=backend,
                sampling=sampling,
                user=settings.user,
                prompt_file=args.prompt_file,
                max_calls=args.max_calls,
                progress=progress,
            )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    dropped = ", ".join(f"{k} {v}" for k, v in report["dropped"].items()) or "none"
    print(
        f"{report['method']} with {report['model']}: {report['generated']} generated in {report['calls']} calls, "
        f"{report['kept']} kept as pending samples, dropped: {dropped}"
    )
    if report["file"]:
        print(f"  imported from {report['file']}; review them in Review (they are pending)")
    return 0
