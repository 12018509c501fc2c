"""One evaluation run (core/evaluation/training.py): TRL's SFTTrainer with a LoRA adapter on a tiny random Llama
built here with the bundled tokenizer, fed Winnow's own prompt/completion export; held-out losses against a plain
token-by-token computation."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_models import build_causal_lm

from core.errors import WinnowError
from core.evaluation.training import LoraSettings, heldout_losses, load_adapted, train_adapter
from core.training.chat_template import load_tokenizer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer random Llama over the bundled SmolLM2 tokenizer, saved as a model folder."""
    tokenizer, _ = load_tokenizer("")
    return build_causal_lm(tmp_path_factory.mktemp("tiny"), tokenizer), tokenizer


def sums(numbers):
    return [
        {
            "prompt": [{"role": "user", "content": f"What is {i} plus {i}?"}],
            "completion": [{"role": "assistant", "content": f"{i} plus {i} is {2 * i}."}],
        }
        for i in numbers
    ]


@pytest.fixture(scope="module")
def winnow_export(tmp_path_factory, tiny):
    """Winnow's own training export (prompt/completion) of 32 accepted samples of the planted task."""
    from core.importing.workspace import import_file
    from core.store import SampleFilter, Store
    from core.training.export import export_training
    from core.training.pipeline import TrainingOptions

    folder = tmp_path_factory.mktemp("export")
    data = folder / "sums.jsonl"
    data.write_text(
        "".join(
            json.dumps({"instruction": f"What is {i} plus {i}?", "output": f"{i} plus {i} is {2 * i}."}) + "\n"
            for i in range(32)
        )
    )
    with Store(folder / "ws.duckdb") as store:
        import_file(store, data, user="lead")
        ids = [r["id"] for r in store.page(SampleFilter(), limit=100).to_pylist()]
        store.set_status_many(ids, "accepted", user="lead")
        options = TrainingOptions(fmt="prompt-completion", max_length=128, val_fraction=0.0)
        report = export_training(store, folder / "exports", "sums", user="lead", options=options)
    return report.files["train"]


FAST = LoraSettings(learning_rate=5e-3, max_steps=12, batch_size=8, max_length=128, seed=3)


def test_training_lowers_the_loss_and_one_seed_gives_one_result(tmp_path, tiny, winnow_export):
    model_dir, tokenizer = tiny
    first = train_adapter(model_dir, tokenizer, winnow_export, tmp_path / "a", FAST)
    again = train_adapter(model_dir, tokenizer, winnow_export, tmp_path / "b", FAST)
    assert len(first.curve) == 12 and first.curve[-1][1] < first.curve[0][1]
    assert first.curve == again.curve
    assert first.train_tokens == again.train_tokens > 12 * 8 * 10  # 12 steps of 8 samples, each over 10 tokens
    held = sums(range(100, 104))
    a = heldout_losses(load_adapted(model_dir, first.adapter_dir), tokenizer, held)
    b = heldout_losses(load_adapted(model_dir, again.adapter_dir), tokenizer, held)
    assert a.nll.tolist() == b.nll.tolist() and a.tokens.tolist() == b.tokens.tolist()


def test_the_trained_adapter_beats_the_base_model_on_held_out_samples_of_its_task(tmp_path, tiny, winnow_export):
    model_dir, tokenizer = tiny
    run = train_adapter(model_dir, tokenizer, winnow_export, tmp_path / "run", FAST)
    held = sums(range(200, 208))  # never trained on
    base = heldout_losses(load_adapted(model_dir, None), tokenizer, held)
    tuned = heldout_losses(load_adapted(model_dir, run.adapter_dir), tokenizer, held)
    assert tuned.loss() < base.loss() - 0.1, (tuned.loss(), base.loss())


def test_the_training_loss_and_its_gradient_equal_trls_own(tmp_path, tiny, winnow_export):
    """Winnow's answer-only loss (a plain projection of the labelled positions) against SFTTrainer's fused kernel,
    on the same batch of the same model: the same loss and the same LoRA gradients."""
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from core.evaluation.training import _answer_loss_trainer

    model_dir, tokenizer = tiny
    config = SFTConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=8, max_length=128, use_cpu=True, report_to=[], seed=0
    )
    dataset = load_dataset("json", data_files=winnow_export, split="train")
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM", lora_dropout=0.0)
    ours = _answer_loss_trainer()(
        model=str(model_dir), args=config, train_dataset=dataset, processing_class=tokenizer, peft_config=lora
    )
    batch = next(iter(ours.get_train_dataloader()))
    assert (batch["labels"] == -100).any() and (batch["labels"] != -100).sum() > 8 * 5  # prompts masked

    def loss_and_grads(compute):
        ours.model.zero_grad()
        loss = compute(ours.model, dict(batch))
        loss.backward()
        grads = {n: p.grad.clone() for n, p in ours.model.named_parameters() if p.requires_grad}
        return float(loss), grads

    mine, my_grads = loss_and_grads(ours.compute_loss)
    theirs, their_grads = loss_and_grads(lambda model, inputs: SFTTrainer.compute_loss(ours, model, inputs))
    assert mine == pytest.approx(theirs, rel=1e-5) and mine > 1.0
    assert my_grads.keys() == their_grads.keys() and len(my_grads) > 10
    for name, grad in my_grads.items():
        assert torch.allclose(grad, their_grads[name], rtol=1e-4, atol=1e-7), name


def test_heldout_losses_equal_a_token_by_token_computation(tiny):
    model_dir, tokenizer = tiny
    model = load_adapted(model_dir, None)
    samples = sums([5, 17, 123])
    got = heldout_losses(model, tokenizer, samples)
    for i, sample in enumerate(samples):
        prompt = tokenizer.apply_chat_template(sample["prompt"], add_generation_prompt=True, tokenize=True)
        full = tokenizer.apply_chat_template(sample["prompt"] + sample["completion"], tokenize=True)
        prompt, full = list(prompt["input_ids"]), list(full["input_ids"])
        start = next(p for p in range(len(full)) if p >= len(prompt) or prompt[p] != full[p])
        total = 0.0
        with torch.no_grad():
            for p in range(start, len(full)):  # each answer token predicted from its prefix alone
                logits = model(input_ids=torch.tensor([full[:p]])).logits[0, -1]
                total -= float(torch.log_softmax(logits, -1)[full[p]])
        assert got.tokens[i] == len(full) - start > 3
        assert got.nll[i] == pytest.approx(total, rel=1e-4)
    # one sample per batch (no padding) and all in one padded batch agree
    alone = heldout_losses(model, tokenizer, samples, batch_tokens=1)
    assert alone.tokens.tolist() == got.tokens.tolist()
    assert alone.nll == pytest.approx(got.nll, rel=1e-5)


def test_an_eval_sample_without_an_answer_is_named(tiny):
    model_dir, tokenizer = tiny
    samples = sums([1, 2])
    samples[1]["completion"] = []
    with pytest.raises(WinnowError, match=r"eval sample 2: .*no assistant answer"):
        heldout_losses(load_adapted(model_dir, None), tokenizer, samples)
