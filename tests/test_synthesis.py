"""Synthesis end to end: Self-Instruct and Evol-Instruct through an OpenAI-compatible endpoint (a real local HTTP
server standing in for a remote API, the one place a stand-in is right), and through a tiny local model; what is
kept lands as pending samples with its provenance, and the report says what was dropped and why."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_cli import run_cli

from core.store import SampleFilter, Store
from core.synthesis.backends import LocalBackend, OpenAIBackend, Sampling
from core.synthesis.methods import parse_tasks
from core.synthesis.workspace import seeds_from_file, synthesize

SEEDS = Path(__file__).parent / "data" / "synthesis" / "seed_tasks.jsonl"

SELF_INSTRUCT_REPLY = """###
Instruction: Plan a three-day walking tour of Kyoto for someone who loves gardens and old temples.
Input: <noinput>
Output: Day one: the eastern hills, from Kiyomizu-dera to Nanzen-ji...
###
Instruction: Suggest five thoughtful birthday gifts for a friend who loves hiking and painting.
Input: <noinput>
Output: A field sketchbook, a trail map...
###
Instruction: Describe the picture below.
Input: <noinput>
Output: A cat.
###
Instruction: Name a colour.
Input: <noinput>
Output: Blue.
###
Instruction: 为一家新开的书店写一段温暖的开业致辞，不超过五十字。
Input: <noinput>
Output: 欢迎光临！愿每一本书都成为您生活中的一盏灯。
###
Instruction: Rewrite the sentence in the passive voice without changing its meaning.
Input: The committee approved the new budget on Friday.
Output: The new budget was approved by"""


REWRITES = [
    "Compose a limerick about a cat who learns to swim in the sea.",
    "List four ways a small town library could attract more teenage readers.",
    "Explain why the sky turns red at sunset, in words a child would understand.",
]


class FakeEndpoint(BaseHTTPRequestHandler):
    """OpenAI's chat completions route: a fixed Self-Instruct reply (its last task cut off at the length limit),
    and for Evol a rewrite, then an answer."""

    calls: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeEndpoint.calls.append(body)
        prompt = body["messages"][-1]["content"]
        if "Here are examples" in prompt:
            text, finish = SELF_INSTRUCT_REPLY, "length"
        elif "#Given Prompt#" in prompt:
            rewrites = sum("#Given Prompt#" in c["messages"][-1]["content"] for c in FakeEndpoint.calls)
            text, finish = f"#Rewritten Prompt#: {REWRITES[(rewrites - 1) % len(REWRITES)]}", "stop"
        else:
            text, finish = "- First point.\n- Second point.\n- Third point.", "stop"
        reply = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeEndpoint.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_the_reply_parses_into_tasks():
    tasks = parse_tasks(SELF_INSTRUCT_REPLY)
    assert len(tasks) == 6 and tasks[0].input == "" and tasks[5].input.startswith("The committee")
    assert tasks[4].instruction.startswith("为一家新开的书店")


def test_self_instruct_through_an_endpoint_keeps_new_tasks_as_pending_samples(endpoint, tmp_path):
    db = tmp_path / "ws.duckdb"
    out = run_cli(
        "synthesize", "--db", db, "--method", "self-instruct", "--seeds", SEEDS, "--n", "2",
        "--base-url", endpoint, "--model", "served-model", "--temperature", "0.5", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    # the Kyoto tour and the bookshop speech are new; the gift list copies a seed, the picture is blocklisted, the
    # colour too short, and the last task was cut off at the length limit
    assert (report["generated"], report["kept"], report["calls"]) == (6, 2, 1)
    assert report["dropped"] == {"blocklisted": 1, "cut off": 1, "similar": 1, "too short": 1}
    assert report["model"] == f"served-model at {endpoint}"
    assert FakeEndpoint.calls[0]["temperature"] == 0.5 and FakeEndpoint.calls[0]["model"] == "served-model"
    with Store(db) as store:
        rows = store.page(SampleFilter()).to_pylist()
        assert [r["status"] for r in rows] == ["pending", "pending"]
        assert rows[0]["prompt"].startswith("Plan a three-day walking tour of Kyoto")
        events = (
            store.cursor()
            .execute("SELECT sample_id, after FROM events WHERE action = 'synthesized' ORDER BY event_id")
            .fetchall()
        )
        assert [e[0] for e in events] == [r["id"] for r in rows]
        provenance = json.loads(events[0][1])
        assert provenance["method"] == "self-instruct" and len(provenance["prompt_sha256"]) == 64
        assert len(provenance["seed_ids"]) == 3 and all(s.startswith("seed_task_") for s in provenance["seed_ids"])
        assert provenance["sampling"]["temperature"] == 0.5 and 0 <= provenance["rouge_l_max"] <= 0.7


def test_evol_rewrites_and_answers_seeds_and_an_unreachable_endpoint_is_one_line(endpoint, tmp_path):
    seeds = seeds_from_file(SEEDS)
    with Store(tmp_path / "ws.duckdb") as store:
        report = synthesize(
            store,
            method="evol",
            seeds=seeds,
            n=3,
            backend=OpenAIBackend(endpoint, "m"),
            sampling=Sampling(seed=3),
            user="lead",
        )
        assert report["kept"] == 3 and report["calls"] == 3 and report["generated"] == 3
        rows = store.page(SampleFilter()).to_pylist()
        assert [r["prompt"] for r in rows] == REWRITES  # the rewrite's label stripped
        assert all(r["answer"].startswith("- First point.") for r in rows)
    dead = run_cli(
        "synthesize", "--db", tmp_path / "other.duckdb", "--method", "evol", "--seeds", SEEDS, "--n", "1",
        "--base-url", "http://127.0.0.1:9/v1",
    )  # fmt: skip
    assert dead.returncode == 2 and "cannot reach the endpoint http://127.0.0.1:9/v1" in dead.stderr
    assert "Traceback" not in dead.stderr


def test_a_tiny_local_model_runs_the_whole_loop(tiny, tmp_path, cpu_settings):
    backend = LocalBackend(tiny, settings=cpu_settings)
    with Store(tmp_path / "ws.duckdb") as store:
        report = synthesize(
            store,
            method="evol",
            seeds=seeds_from_file(SEEDS),
            n=2,
            backend=backend,
            sampling=Sampling(temperature=1.0, max_tokens=12, seed=1),
            user="lead",
            max_calls=4,
        )
        assert report["model"] == backend.name and report["calls"] <= 4
        assert report["generated"] == report["kept"] + sum(report["dropped"].values())
        assert store.count(SampleFilter(status="pending")) == report["kept"] == len(report["sample_ids"])


def test_a_bad_seed_file_is_named_by_line_and_record(tmp_path):
    from core.errors import WinnowError

    bad = tmp_path / "seeds.jsonl"
    good = {"id": "s1", "instruction": "Name three rivers in Europe.", "instances": [{"input": "", "output": "x"}]}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({"instruction": "Hi there friend", "instances": "x"}) + "\n")
    with pytest.raises(WinnowError, match=r"seeds.jsonl, line 2, record 2: 'instances' is not a list of objects"):
        seeds_from_file(bad)


def test_synthesized_samples_enter_no_selection_until_reviewed(endpoint, tmp_path):
    from core.selection.workspace import run_selection
    from core.store import SYNTHESIZED_TAG, SampleEdit

    with Store(tmp_path / "ws.duckdb") as store:
        report = synthesize(
            store, method="evol", seeds=seeds_from_file(SEEDS), n=2, backend=OpenAIBackend(endpoint, "m"),
            sampling=Sampling(seed=3), user="lead",
        )  # fmt: skip
        made = report["sample_ids"]
        assert store.count(SampleFilter(tag=SYNTHESIZED_TAG)) == 2
        everything = "steps: [{filter: {status: any}}]"
        assert run_selection(store, everything, name="all", user="lead").ids == []  # both still pending
        sample = store.get_sample(made[0])
        store.update_sample(made[0], sample["version"], SampleEdit(status="accepted"), user="lead")
        assert run_selection(store, everything, name="all", user="lead").ids == [made[0]]
