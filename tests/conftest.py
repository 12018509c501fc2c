"""Shared fixtures. Tests never reach the Hugging Face hub: models come from the bundled pip packages."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub, which reads it once
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest


@pytest.fixture(autouse=True, scope="session")
def _keep_every_model_loaded():
    """A process keeps its last few models (``MODELS_KEPT``); the suite loads dozens of tiny ones, and would then load
    the bundled model again and again. It keeps them all instead (tests/test_models.py checks the cap)."""
    from core.models import embedders, language

    language.MODELS_KEPT = embedders.EMBEDDERS_KEPT = 1_000_000


@pytest.fixture(scope="session")
def bundled_lm():
    """(model, tokenizer, info) of the bundled SmolLM2 on CPU in fp32, converted once into WINNOW_CACHE_DIR
    (default ~/.cache/winnow; the first conversion takes ~20 s, later sessions load it in well under a second)."""
    from core.models.language import load_causal_lm
    from core.settings import load_settings

    return load_causal_lm("", device="cpu", dtype="fp32", cache_dir=load_settings().cache_dir)


@pytest.fixture(scope="session")
def cpu_settings():
    """Settings forced onto the CPU in fp32, so scores do not depend on the machine the tests run on."""
    from core.settings import load_settings

    return load_settings().with_(device="cpu", dtype="fp32")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A 2-layer random Llama over the bundled tokenizer, saved as a model folder (tests/tiny_models.py): what the
    evaluation tests train. Its path, as a user gives a model."""
    from tiny_models import build_causal_lm

    from core.training.chat_template import load_tokenizer

    tokenizer, _ = load_tokenizer("")
    return str(build_causal_lm(tmp_path_factory.mktemp("tiny"), tokenizer))
