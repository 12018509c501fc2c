"""The command line's words: every command, its arguments and their help, and the function that runs it."""

from __future__ import annotations

import argparse

from core.cli.eval_sets import add_evalset_parser
from core.cli.evaluation import add_evaluate_parser
from core.cli.models import DEFAULT_SCORERS, cmd_label, cmd_map, cmd_score
from core.cli.samples import cmd_backup, cmd_demo, cmd_export, cmd_export_training, cmd_import, cmd_select, cmd_stats
from core.cli.synthesis import add_synthesize_parser
from core.cli.team import cmd_assign, cmd_user


def add_engine_args(p) -> None:
    """The flags that choose where scorers run (score, and select --preset cascade)."""
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: an actor pool of Ray Data (for big sets, GPUs, clusters)",
    )
    p.add_argument(
        "--address",
        help="ray: the cluster (auto, ray://host:10001, host:6379); default $RAY_ADDRESS, else a new local Ray",
    )
    p.add_argument("--actors", type=int, default=1, help="ray: actors in the pool, each with its own model (default 1)")
    p.add_argument(
        "--gpus-per-actor", type=float, default=0.0, help="ray: GPUs each actor asks for (default 0; 0.5 shares one)"
    )
    p.add_argument(
        "--shard-size", type=int, default=256, help="ray: contents per shard, the most a killed run loses (default 256)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Winnow: curate SFT data from the shell.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_db(p):
        p.add_argument("--db", help="workspace file (DuckDB); default $WINNOW_DB or data/workspace.duckdb")
        p.add_argument(
            "--user",
            help="who is acting: recorded in the audit log and, once the workspace has accounts, the account whose "
            "role applies; default $WINNOW_USER or the OS user",
        )

    p = sub.add_parser("import", help="import SFT files into a workspace")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_db(p)
    p.add_argument(
        "--format", default="auto", choices=["auto", "alpaca", "sharegpt", "openai", "prompt-completion", "mapped"]
    )
    p.add_argument("--map", help="field mapping for other files, e.g. prompt=question,response=answer")
    p.add_argument(
        "--on-error",
        default="abort",
        choices=["abort", "skip"],
        help="abort: import nothing if any record is bad (default); skip: import the good ones",
    )
    p.add_argument("--rejects", help="where --on-error skip writes the bad records (default FILE.rejects.jsonl)")
    p.add_argument("--allow-reimport", action="store_true", help="import a file that was imported before")
    p.add_argument("--force", action="store_true", help="replace an existing --rejects file")
    p.add_argument("--no-signals", action="store_true", help="skip computing the heuristic signals after import")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export curated samples")
    add_db(p)
    p.add_argument("--out", required=True, help="output file (.json = JSON array, .jsonl = JSON lines, .parquet)")
    p.add_argument("--format", required=True, choices=["alpaca", "sharegpt", "openai", "prompt-completion", "parquet"])
    p.add_argument(
        "--status", default="accepted", help="accepted (default), pending, rejected, not_rejected, all, or a comma list"
    )
    p.add_argument("--tag", help="only samples with this tag")
    p.add_argument("--with-scores", action="store_true", help="add score columns, source and source_index")
    p.add_argument(
        "--turns",
        default="split",
        choices=["split", "cut"],
        help="assistant turns marked not to train on (OpenAI weight 0), in formats without weights: split a chat "
        "into one record per trained turn with its history (default; dataset_info masks history), or cut it after "
        "its last trained turn. OpenAI and Parquet keep the weights",
    )
    p.add_argument(
        "--selection",
        help="export this saved selection (any status); a staged one writes one file per stage: OUT.stage1.jsonl ...",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing output file (never the workspace, its .wal, or a file it imported)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "export-training",
        help="training-ready export: chat template, token counts, truncation, packing, split, manifest, advice",
        description="Render the samples with a chat template, count their tokens, report truncation and packing "
        "efficiency, and write train/validation files, optional packed Parquet, dataset_info.json and manifest.json "
        "into a folder NAME of the export folder.",
    )
    add_db(p)
    p.add_argument("--name", help="folder to write inside the export folder (replaces an earlier training export)")
    p.add_argument("--export-dir", help="the export folder; default $WINNOW_EXPORT_DIR or data/exports")
    p.add_argument("--selection", help="the members of this saved selection (any status)")
    p.add_argument("--stage", type=int, help="with a staged --selection: the stage to export (1-based)")
    p.add_argument(
        "--status", default="accepted", help="accepted (default), pending, rejected, not_rejected, all, or a comma list"
    )
    p.add_argument("--tag", help="only samples with this tag")
    p.add_argument(
        "--tokenizer", help="HF id or local folder whose chat template renders the samples (default: bundled)"
    )
    p.add_argument(
        "--max-length", type=int, default=2048, help="the trainer's sequence length in tokens (default 2048)"
    )
    p.add_argument(
        "--format",
        default="messages",
        choices=["messages", "prompt-completion"],
        help="TRL's conversational messages (default; LLaMA-Factory reads it too) or prompt/completion",
    )
    p.add_argument("--val-fraction", type=float, default=0.05, help="held out for validation (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="fixes the train/validation split (default 0)")
    p.add_argument("--pack", action="store_true", help="also write packed Parquet files (input_ids, labels, ...)")
    p.add_argument(
        "--over-length",
        default="truncate",
        choices=["truncate", "drop"],
        help="samples longer than --max-length: cut them (default) or leave them out",
    )
    p.add_argument(
        "--turns",
        default="split",
        choices=["split", "cut"],
        help="assistant turns marked not to train on, in the TRL files (they read no weight): one record per trained "
        "turn (default) or the chat cut after its last trained turn; the packed labels skip them either way",
    )
    p.add_argument("--dry-run", action="store_true", help="print the report; write nothing")
    p.set_defaults(func=cmd_export_training)

    add_evaluate_parser(sub, add_db)

    p = sub.add_parser("select", help="run a selection recipe and save the result as a named selection")
    add_db(p)
    p.add_argument("--recipe", help="recipe YAML file (see core/selection/recipe.py for the steps)")
    p.add_argument(
        "--preset",
        choices=["align", "fit", "cascade"],
        help="start from a preset instead of a file; cascade also scores as it goes (signals, dedup, then IFD on "
        "the survivors only)",
    )
    p.add_argument("--budget", type=int, help="with --preset align: samples to keep (1 to the workspace's size)")
    p.add_argument("--model", help="cascade: the small IFD model (default: bundled SmolLM2-135M)")
    p.add_argument("--large-model", help="cascade: a larger IFD model for the small model's top share (optional)")
    p.add_argument("--top-percent", type=float, default=50.0, help="cascade: share the small model keeps (50)")
    p.add_argument("--large-top-percent", type=float, default=50.0, help="cascade: share the large model keeps (50)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="cascade: default $WINNOW_DEVICE or auto")
    p.add_argument("--dtype", choices=["auto", "fp32", "bf16", "fp16"], help="cascade: default $WINNOW_DTYPE or auto")
    add_engine_args(p)
    p.add_argument("--name", required=True, help="name of the selection (replaces one of the same name)")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("stats", help="counts by status and source")
    add_db(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser(
        "backup",
        help="copy the whole workspace into one new DuckDB file (admins)",
        description="Write a consistent copy of the workspace (every table, one transaction's snapshot) into a new "
        "DuckDB file that opens as a workspace. While the app has the workspace open, use its Users page instead.",
    )
    add_db(p)
    p.add_argument("--out", help="the backup file (default backups/NAME-YYYYMMDD-HHMMSS.duckdb beside the workspace)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file (never the workspace)")
    p.set_defaults(func=cmd_backup)

    add_evalset_parser(sub, add_db)
    add_synthesize_parser(sub, add_db)

    p = sub.add_parser(
        "score", help="compute scores (IFD, embeddings, signals, reward, decontamination) for what has none yet"
    )
    add_db(p)
    p.add_argument(
        "--scorers",
        default=DEFAULT_SCORERS,
        help=f"comma list (default {DEFAULT_SCORERS}; also reward, necessity, decontam, knowledge, turns)",
    )
    p.add_argument(
        "--eval-sets", help="decontam: comma list of the eval sets to check against (default: all registered)"
    )
    p.add_argument("--ngram", type=int, help="decontam: tokens per n-gram (default 13)")
    p.add_argument("--knowledge-prompts", type=int, help="knowledge: k-shot prompts per sample (default 10)")
    p.add_argument("--knowledge-samples", type=int, help="knowledge: sampled answers per prompt (default 16)")
    p.add_argument(
        "--knowledge-fast",
        action="store_true",
        help="knowledge: 3 prompts and 4 samples (15 answers a sample instead of 170; blurs MaybeKnown and "
        "HighlyKnown, finds fewer WeaklyKnown)",
    )
    p.add_argument("--answer-field", help="knowledge: the record field holding the short gold answer")
    p.add_argument(
        "--model", help="language model for IFD and knowledge: HF id or local path (default: bundled SmolLM2-135M)"
    )
    p.add_argument(
        "--embedder",
        help="sentence embedder: use-multilingual (default), e5-small, minilm, or a sentence-transformers HF id or path",
    )
    p.add_argument(
        "--embed-text",
        choices=["instruction", "conversation"],
        help="what to embed: the instruction (as MoDS, default) or the whole conversation",
    )
    p.add_argument("--reward-model", help="sequence-classification reward model (reward and necessity scorers)")
    p.add_argument(
        "--necessity-model", help="necessity scorer (MoDS): the model fine-tuned on the seed set, HF id or local path"
    )
    p.add_argument(
        "--necessity-template",
        choices=["auto", "chat", "alpaca", "plain"],
        help="the prompt format the necessity model was tuned on (default auto: chat template, else alpaca)",
    )
    p.add_argument("--max-new-tokens", type=int, help="necessity scorer: longest generated answer (default 512)")
    p.add_argument("--template", choices=["auto", "chat", "alpaca", "plain"], help="IFD prompt template")
    p.add_argument("--max-length", type=int, help="IFD max tokens, prompt + answer (default 512)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default $WINNOW_DEVICE or auto")
    p.add_argument("--dtype", choices=["auto", "fp32", "bf16", "fp16"], help="default $WINNOW_DTYPE or auto")
    p.add_argument("--batch-tokens", type=int, help="padded tokens per batch (default per scorer; lower = less memory)")
    add_engine_args(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "demo",
        help="load the demo data into an empty workspace; the app then prepares it (scores, map, labels)",
    )
    add_db(p)
    p.add_argument("--admin", metavar="NAME", help="also create this admin account (generated password, printed once)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "user",
        help="accounts: list, add, passwd, role, disable, enable",
        description="Accounts of a workspace. The first account must be an admin; after that only admins (--user) "
        "add accounts or change others'. Passwords are read from the terminal, or from stdin's first line.",
    )
    actions = p.add_subparsers(dest="action", required=True)
    for action, help_text in (
        ("list", "list the accounts"),
        ("add", "add an account"),
        ("passwd", "set an account's password (ends its sessions)"),
        ("role", "change an account's role"),
        ("disable", "stop an account from signing in (its history stays)"),
        ("enable", "let a disabled account sign in again"),
    ):
        a = actions.add_parser(action, help=help_text)
        if action != "list":
            a.add_argument("name", help="the account")
        if action == "role":
            a.add_argument("role_value", metavar="ROLE", choices=["admin", "lead", "annotator"])
        if action == "add":
            a.add_argument("--role", default="annotator", choices=["admin", "lead", "annotator"])
        if action in ("add", "passwd"):
            a.add_argument("--password-stdin", action="store_true", help="read the password from stdin on a terminal")
        add_db(a)
        a.set_defaults(func=cmd_user)

    p = sub.add_parser("map", help="compute (or reuse) the 2-D map and clusters of the current embeddings")
    add_db(p)
    p.add_argument("--k", type=int, help="number of clusters (default: about sqrt(contents / 2))")
    p.add_argument("--seed", type=int, default=0, help="fixes the projection and the clusters (default 0)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("label", help="suggest a task label for every sample (confirmed labels are kept)")
    add_db(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="default $WINNOW_DEVICE or auto")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser(
        "assign",
        help="give samples to annotators, each to --overlap of them, round-robin",
        description="Assign the matching samples (not yet assigned to anyone, unless --include-assigned) to the "
        "annotators, each sample to --overlap of them, balancing their loads. Samples with overlap 2 or more are "
        "reviewed as separate annotations and adjudicated by a lead (Team page).",
    )
    add_db(p)
    p.add_argument("--to", required=True, metavar="NAMES", help="comma list of accounts, e.g. ann,bob")
    p.add_argument("--overlap", type=int, default=1, help="annotators per sample (default 1)")
    p.add_argument(
        "--status", default="pending", help="pending (default), accepted, rejected, not_rejected, all, or a comma list"
    )
    p.add_argument("--tag", help="only samples with this tag")
    p.add_argument("--selection", help="only the members of this saved selection")
    p.add_argument("--cluster", type=int, help="only samples in this cluster of the current map")
    p.add_argument("--label", help="only samples with this task label")
    p.add_argument("--limit", type=int, help="at most this many samples, the first in import order")
    p.add_argument("--include-assigned", action="store_true", help="also samples that already have an assignee")
    p.set_defaults(func=cmd_assign)
    return parser
