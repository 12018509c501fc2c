"""The MoDS necessity scorer: the bundled SmolLM2 stands in for the seed-tuned model, next to a tiny reward model
built here. Batched greedy generation is checked against a token-by-token reference, the rewards against a direct
call of the reward model, and a real workspace run against the selection step that reads its column."""

from __future__ import annotations

import json

import pytest
from page_workspace import finish_job, load, new_workspace, open_app
from test_cli import RECORDS, run_cli, write_jsonl
from tiny_models import build_reward_model

from core.errors import ModelUnavailable
from core.importing.workspace import import_file
from core.models.language import BUNDLED_LM_NAME
from core.scoring import get_scorer
from core.scoring.necessity import COLUMNS, greedy_generate, greedy_reference
from core.scoring.runner import run_scorer
from core.selection.workspace import run_selection
from core.store import Store

VOCABULARY = "what is the capital of france paris tell me a joke chicken road two plus four six"
WORDS = VOCABULARY.split()
NEW_TOKENS = 10


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as in test_scoring_ifd: on 2 shared cores, two OpenMP threads mostly wait at barriers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory):
    """A 2-layer BERT reward model with a word-level tokenizer, built and saved offline (random weights)."""
    return build_reward_model(tmp_path_factory.mktemp("necessity-reward"), WORDS, max_positions=128)


def chat(*turns, system=None):
    """turns alternate user, assistant, user, ..."""
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(turns)]
    return {"id": turns[0] if turns else "none", "messages": messages, "tools": None}


SAMPLES = [
    chat("What is the capital of France?", "Paris."),
    chat("Tell me a joke about a chicken and a road, in one line please."),  # ends with the user: answered as is
    chat("Name a colour.", "Red.", "What is two plus four?", "Six.", system="Be brief."),
    {"id": "greeting", "messages": [{"role": "assistant", "content": "Hello!"}], "tools": None},  # nothing asked
]


def necessity(settings, reward_model, **params):
    defaults = {"model": "bundled", "reward_model": str(reward_model), "max_new_tokens": NEW_TOKENS}
    return get_scorer("necessity", settings, **{**defaults, "reward_max_length": 128, **params})


# --- without loading a model -----------------------------------------------------------------------------------------


def test_without_a_model_it_refuses_and_says_what_is_needed(cpu_settings):
    scorer = get_scorer("necessity", cpu_settings)  # constructing is fine: the pages list scorers before choosing
    with pytest.raises(ModelUnavailable, match="fine-tuned on the seed set"):
        scorer.setup()
    with pytest.raises(ModelUnavailable, match="needs a reward model"):
        get_scorer("necessity", cpu_settings, model="bundled").setup()


def test_key_names_both_models_and_the_decoding_limits(cpu_settings, reward_model, tmp_path):
    a = necessity(cpu_settings, reward_model)
    assert a.key.startswith("necessity/v1/")
    assert a.params["model"] == BUNDLED_LM_NAME and a.params["reward_model"] == str(reward_model.resolve())
    assert necessity(cpu_settings, reward_model).key == a.key
    assert necessity(cpu_settings, reward_model, max_new_tokens=NEW_TOKENS + 1).key != a.key
    assert necessity(cpu_settings, reward_model, template="alpaca").key != a.key
    other = get_scorer("necessity", cpu_settings, model=str(tmp_path), reward_model=str(reward_model))
    assert other.params["model"] == str(tmp_path.resolve()) and other.key != a.key
    with pytest.raises(ValueError, match="max_new_tokens"):
        necessity(cpu_settings, reward_model, max_new_tokens=0)
    with pytest.raises(ValueError, match="template"):
        necessity(cpu_settings, reward_model, template="vicuna")


# --- with the bundled model ------------------------------------------------------------------------------------------


@pytest.mark.model
def test_batched_greedy_equals_token_by_token_decoding(cpu_settings, reward_model):
    with necessity(cpu_settings, reward_model) as scorer:
        _, where, prompts = scorer.prompts(SAMPLES)
        assert where == [0, 1, 2] and len({len(p) for p in prompts}) == 3  # three widths: real left padding
        batched = greedy_generate(scorer.model, prompts, NEW_TOKENS, scorer.ends, scorer.pad_id)
        for prompt, got in zip(prompts, batched, strict=True):
            assert got == greedy_reference(scorer.model, prompt, NEW_TOKENS, scorer.ends)
            assert greedy_generate(scorer.model, [prompt], NEW_TOKENS, scorer.ends, scorer.pad_id) == [got]


@pytest.mark.model
def test_rows_hold_the_answer_and_its_reward(cpu_settings, reward_model):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with necessity(cpu_settings, reward_model) as scorer:
        rows = scorer.score_batch(SAMPLES)
        assert scorer.score_batch(SAMPLES) == rows  # greedy: the same answers and rewards every time
        _, where, prompts = scorer.prompts(SAMPLES)
        # the batched decoder, checked against the token-by-token reference in the test above
        expected = greedy_generate(scorer.model, prompts, NEW_TOKENS, scorer.ends, scorer.pad_id)
        answers = [scorer.tokenizer.decode(tokens, skip_special_tokens=True).strip() for tokens, _ in expected]

    assert rows[3] is None  # nothing to answer
    tokenizer = AutoTokenizer.from_pretrained(reward_model)
    model = AutoModelForSequenceClassification.from_pretrained(reward_model).eval()
    questions = [
        "What is the capital of France?",
        SAMPLES[1]["messages"][0]["content"],
        "Name a colour.\nWhat is two plus four?",
    ]
    for i, question, answer, (tokens, ended) in zip(where, questions, answers, expected, strict=True):
        row = rows[i]
        assert set(row) == set(COLUMNS) and row["necessity_reason"] is None
        assert row["necessity_answer"] == answer and answer
        assert row["necessity_answer_tokens"] == len(tokens) and row["necessity_truncated"] is (not ended)
        with torch.inference_mode():
            direct = model(**tokenizer(question, answer, truncation=True, max_length=128, return_tensors="pt"))
        assert row["necessity_reward"] == pytest.approx(direct.logits[0, 0].item(), abs=1e-5)


@pytest.mark.model
def test_a_prompt_over_the_limit_is_not_answered(cpu_settings, reward_model):
    with necessity(cpu_settings, reward_model, max_prompt_tokens=40) as scorer:
        short = chat("Hi?")
        long = chat("Please " * 60 + "answer.")
        rows = scorer.score_batch([short, long])
    assert rows[0]["necessity_reward"] is not None and rows[0]["necessity_reason"] is None
    assert rows[1] == {**dict.fromkeys(COLUMNS), "necessity_reason": "prompt too long"}


@pytest.mark.model
def test_a_workspace_run_feeds_the_mods_necessity_step(cpu_settings, reward_model, tmp_path):
    records = [
        {"instruction": "What is the capital of France?", "input": "", "output": "Paris."},
        {"instruction": "Tell me a joke.", "input": "", "output": "A chicken crossed the road."},
        {"instruction": "What is two plus four?", "input": "", "output": "Six."},
        {"instruction": "Name a colour.", "input": "", "output": "Red."},
    ]
    path = tmp_path / "four.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    with Store(tmp_path / "ws.duckdb") as store:
        import_file(store, path, user="tess")
        scorer = necessity(cpu_settings, reward_model)
        assert run_scorer(store, scorer).scored == 4
        assert run_scorer(store, scorer).scored == 0  # kept per content: nothing is generated twice
        data = store.sample_arrays(["id", "necessity_reward", "necessity_answer"])
        assert all(isinstance(a, str) and a for a in data["necessity_answer"])

        ids, reward = data["id"], list(data["necessity_reward"])
        store.save_selection("seed", recipe="", recipe_hash="", log=[], members=[(ids[3], 1)], user="tess")
        threshold = float(sorted(reward[:3])[1])  # between the rewards of the three samples outside the seed
        recipe = f"steps: [{{mods_necessity: {{seed_selection: seed, threshold: {threshold!r}}}}}]"
        result = run_selection(store, recipe, name="mods", user="tess")
    added = sorted((r, i) for i, r in enumerate(reward[:3]) if r < threshold)
    assert result.ids == [ids[3]] + [ids[i] for _, i in added] and len(added) == 1


def test_cli_without_the_fine_tuned_model_is_one_line_and_exit_2(tmp_path):
    db = tmp_path / "ws.duckdb"
    assert run_cli("import", write_jsonl(tmp_path / "a.jsonl", RECORDS), "--db", db).returncode == 0
    out = run_cli("score", "--db", db, "--scorers", "necessity", "--reward-model", tmp_path, "--device", "cpu")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "fine-tuned on the seed set" in out.stderr and "Traceback" not in out.stderr


def test_score_page_passes_the_fine_tuned_model_to_the_scorer(tmp_path, monkeypatch, reward_model):
    store = new_workspace(tmp_path, monkeypatch)
    load(store, "tasks_alpaca.json")
    at = open_app("pages/score.py")
    at.multiselect(key="score_scorers").set_value(["necessity"])
    at.text_input(key="score_reward_model").set_value(str(reward_model))
    at.text_input(key="score_necessity_model").set_value(str(tmp_path / "tuned-on-seed"))
    at.button(key="score_go").click().run()
    finish_job(at, "score_job")

    errors = [e.value for e in at.error]
    assert errors and "tuned-on-seed" in errors[0] and "no such folder" in errors[0]
    assert "necessity" not in store.scorer_keys()
