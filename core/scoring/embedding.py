"""Sentence embeddings of each sample, for diversity selection (k-center, facility location) and the map.

Column ``embedding``: a unit-length ``FLOAT[dim]`` vector (dim = 512 for the default use-multilingual, 384 for
e5-small and MiniLM; see ``core.models.embedders``), so cosine similarity is a dot product. The embedder's identity is
the ``model`` parameter, part of the scorer key: another embedder embeds again and never mixes its vectors with these.
Param ``text`` picks what is embedded:

- ``instruction`` (default): the user turns joined by newlines, as MoDS embeds instructions for its diversity step.
- ``conversation``: every message's content joined by newlines, as Superfiltering-D embeds whole samples.

A sample with nothing to embed (no user turn, in ``instruction`` mode) gets None. Each embedder reads the start of a
long text only (use-multilingual 2,000 characters, e5 512 tokens, MiniLM 256 word pieces).
"""

from __future__ import annotations

from core.scoring.base import Scorer, estimate_tokens, register

TEXTS = ("instruction", "conversation")


def embedding_text(sample: dict, text: str = "instruction") -> str:
    """The string embedded for a sample: its user turns, or all of its messages, joined by newlines."""
    messages = sample.get("messages") or []
    if text == "instruction":
        messages = [m for m in messages if m.get("role") == "user"]
    return "\n".join(c for c in (m.get("content") for m in messages) if isinstance(c, str) and c)


@register
class EmbeddingScorer(Scorer):
    """Unit-length sentence embeddings (see the module docstring).

    Params:
        model: a bundled embedder (use-multilingual, e5-small, minilm), or a sentence-transformers HF id or local
            path; "" means WINNOW_EMBEDDER, else the default bundled embedder.
        text: "instruction" or "conversation".
    """

    name = "embedding"
    version = 1
    columns = {"embedding": "FLOAT[]"}  # setup() replaces it with FLOAT[<dim>] once the model is known
    column_titles = {"embedding": "embedding"}
    default_params = {"model": "", "text": "instruction"}
    token_budget = 32768
    max_batch = 512
    encode_batch_size = 32  # sentence-transformers' own default; it sorts by length inside a call

    def resolve_params(self, params: dict) -> dict:
        from core.models.embedders import embedder_name

        if params["text"] not in TEXTS:
            raise ValueError(f"unknown embedding text {params['text']!r}; use one of {', '.join(TEXTS)}")
        self._spec = params["model"] or self.settings.embedder
        return {"model": embedder_name(self._spec), "text": params["text"]}

    def setup(self) -> None:
        if self.ready:
            return
        from core.models.embedders import load_embedder

        self.model = load_embedder(self._spec, device=self.settings.device)
        self.dim = self.model.dim
        self.columns = {"embedding": f"FLOAT[{self.dim}]"}
        self.ready = True

    def teardown(self) -> None:
        self.model = None
        self.ready = False

    def cost(self, sample: dict) -> int:
        return min(estimate_tokens(embedding_text(sample, self.params["text"])), 512)

    def score_batch(self, samples: list[dict]) -> list[dict | None]:
        if not self.ready:
            self.setup()
        texts = [embedding_text(sample, self.params["text"]) for sample in samples]
        present = [i for i, t in enumerate(texts) if t]
        rows: list[dict | None] = [None] * len(samples)
        if not present:
            return rows
        vectors = self.model.encode([texts[i] for i in present], batch_size=self.encode_batch_size)
        for i, vector in zip(present, vectors.tolist(), strict=True):
            rows[i] = {"embedding": vector}
        return rows
