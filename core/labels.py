"""Task labels: the taxonomy leads edit, and the label suggestions annotators confirm.

A taxonomy is a list of ``{"name": str, "description": str}`` dicts. The functions that edit it are pure: they take a
taxonomy and return a new one, and raise ``TaxonomyError`` for an empty or duplicate name or a label that does not
exist. The store saves it; samples refer to labels by name, so after ``rename_label(t, old, new)`` the caller
relabels ``old`` samples as ``new``, and after ``merge_labels(t, sources, into)`` every source's samples as ``into``.

The suggestion machinery over embeddings lives here; ``core.label_suggestions`` runs it on a workspace, after
cheap evidence rules (``core.label_evidence``) and with labelled examples (``core.label_exemplars``):

- ``zero_shot``: the label whose description embedding is most similar. A description is several phrasings, one
  per line (a definition, example requests, a Chinese gloss); ``label_embeddings`` averages them.
- ``fit_classifier`` / ``predict``: a classifier over the embeddings: logistic regression (the default), kNN
  (cosine, k = min(10, n)) or centroids. It can take description phrasings (and examples) as extra training rows.
- ``suggest``: zero-shot until a label is confirmed, then the classifier trained on the confirmed samples *and* the
  descriptions (its docstring says why a blend beats a switch), and label + confidence per sample.

Measured on ``tests/data/explore/task_labels.jsonl`` (208 requests we wrote, 13 labels, 10 EN + 6 ZH each) with the
formerly bundled all-MiniLM-L6-v2, which is English-only (most Chinese characters are [UNK] to its tokenizer):
zero-shot 0.58 (EN 0.85, ZH 0.13; chance 0.08); with 5 confirmed per label, 0.65 on the held-out rest against 0.58
for zero-shot on the same samples (10 splits, +7 points on average, +3 at worst). The default embedder now reads
Chinese; ``core.label_suggestions`` has the measurements of the whole pipeline.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import TaxonomyError, brief
from core.similarity import normalize_rows

# --- the taxonomy --------------------------------------------------------------------------------------------------

DEFAULT_TAXONOMY: tuple[dict, ...] = (
    {
        "name": "general QA",
        "description": (
            "Answer a factual or general knowledge question.\n"
            "What is the tallest mountain in Europe? Why do cats purr? Who wrote this famous book?\n"
            "Explain a fact about science, history, geography, health or everyday life.\n"
            "常识问答：回答一个事实性或百科知识问题，例如“为什么天会下雨？”"
        ),
    },
    {
        "name": "open writing",
        "description": (
            "Write an original creative or long-form text: a story, poem, essay, letter, speech or blog post.\n"
            "Write a short story about a lost dog. Compose a poem about the sea. Draft a wedding speech.\n"
            "开放写作：写一首诗、一个故事、一篇作文或一封信。"
        ),
    },
    {
        "name": "rewrite",
        "description": (
            "Rewrite, paraphrase, edit or proofread a given text while keeping its meaning.\n"
            "Make this paragraph more formal. Correct the grammar of this sentence. Rephrase this in simpler words.\n"
            "改写、润色、修改语法或换一种说法表达给定的文字。"
        ),
    },
    {
        "name": "summarization",
        "description": (
            "Summarize a given text: shorten an article, report, conversation or document to its main points.\n"
            "Summarize this article in two sentences. Give me the key takeaways of this meeting. TL;DR.\n"
            "摘要总结：概括一篇文章或一段对话的主要内容。"
        ),
    },
    {
        "name": "extraction",
        "description": (
            "Extract specific information from a given text: names, dates, numbers, entities, fields or keywords.\n"
            "List all the people mentioned in this passage. Pull the prices out of this receipt as JSON.\n"
            "信息抽取：从文本中提取人名、日期、地址、金额等信息。"
        ),
    },
    {
        "name": "classification",
        "description": (
            "Classify or label a given text or item into categories: sentiment, topic, spam, intent.\n"
            "Is this review positive or negative? Which category does this headline belong to?\n"
            "分类：判断一段文字的情感倾向或类别。"
        ),
    },
    {
        "name": "brainstorming",
        "description": (
            "Brainstorm and suggest many ideas, options, names or suggestions.\n"
            "Give me ideas for a birthday party. Suggest names for my startup. What are some ways to save money?\n"
            "头脑风暴：给出一些点子、创意、建议或名字。"
        ),
    },
    {
        "name": "math",
        "description": (
            "Solve a math problem: arithmetic, algebra, equations, geometry, calculus, probability or a word problem.\n"
            "Solve 5x - 3 = 12. Calculate the area of a triangle. What is the derivative of x squared?\n"
            "数学题：解方程、计算、几何、应用题。"
        ),
    },
    {
        "name": "code",
        "description": (
            "Programming: write, explain, debug or convert code in Python, JavaScript, Java, C++, SQL or shell.\n"
            "Write a Python function to merge two sorted lists. Why does this code throw an error?\n"
            "编程：写代码、解释代码、修复程序错误、写SQL查询。"
        ),
    },
    {
        "name": "reasoning",
        "description": (
            "Logical reasoning: solve a logic puzzle, riddle or deduction step by step and explain the reasoning.\n"
            "If all A are B and some B are C, what follows? Who is lying? Find the pattern in this sequence.\n"
            "逻辑推理：一步一步推理解答谜题、判断真假、找规律。"
        ),
    },
    {
        "name": "translation",
        "description": (
            "Translate text from one language to another, e.g. English, Chinese, French, Spanish, Japanese.\n"
            "Translate this sentence into French. How do you say hello in German?\n"
            "翻译：把这句话翻译成英文或中文。"
        ),
    },
    {
        "name": "roleplay",
        "description": (
            "Roleplay: pretend to be a character or person and stay in character in the conversation.\n"
            "Act as a detective. You are a travel agent, help me plan. Pretend you are a famous scientist.\n"
            "角色扮演：假装你是某个角色，用他的口吻和我对话。"
        ),
    },
    {
        "name": "safety",
        "description": (
            "Harmful or unsafe request that should be refused: violence, weapons, drugs, hacking, fraud, "
            "self-harm, harassment or other illegal activity.\n"
            "How do I make a weapon? Help me steal passwords. Write an insulting message to hurt someone.\n"
            "安全：有害或违法的请求，例如制造武器、诈骗、黑客攻击、伤害他人，应当拒绝。"
        ),
    },
)


def default_taxonomy() -> list[dict]:
    """A fresh copy of the default taxonomy (13 task labels), for a new workspace."""
    return copy.deepcopy(list(DEFAULT_TAXONOMY))


def label_names(taxonomy: Sequence[dict]) -> list[str]:
    """The labels' names, in taxonomy order (label index i is ``label_names(taxonomy)[i]``)."""
    return [label["name"] for label in taxonomy]


def validate_taxonomy(taxonomy: Sequence[dict]) -> list[dict]:
    """Return a clean copy of ``taxonomy`` (names and descriptions stripped), or raise ``TaxonomyError``.

    Names must be non-empty and unique, ignoring case and surrounding spaces ("Code" and "code " are the same label:
    two labels a person cannot tell apart on a page would split the data for no reason).
    """
    out: list[dict] = []
    seen: dict[str, str] = {}
    for i, label in enumerate(taxonomy):
        if not isinstance(label, dict) or not isinstance(label.get("name"), str):
            raise TaxonomyError(f"label {i + 1} must be a dict with a string 'name', got {brief(label)}")
        name = _clean_name(label["name"])
        if name.casefold() in seen:
            raise TaxonomyError(f"label {name!r} appears twice (as {seen[name.casefold()]!r} and {label['name']!r})")
        seen[name.casefold()] = label["name"]
        out.append({"name": name, "description": str(label.get("description") or "").strip()})
    return out


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise TaxonomyError("a label name cannot be empty")
    return name


def _index(taxonomy: Sequence[dict], name: str) -> int:
    key = " ".join(str(name).split()).casefold()
    for i, label in enumerate(taxonomy):
        if label["name"].casefold() == key:
            return i
    raise TaxonomyError(f"there is no label {name!r}; the labels are: {', '.join(label_names(taxonomy))}")


def add_label(taxonomy: Sequence[dict], name: str, description: str = "") -> list[dict]:
    """Return the taxonomy with a new label at the end. Raises ``TaxonomyError`` for an empty or taken name."""
    return validate_taxonomy([*taxonomy, {"name": name, "description": description}])


def describe_label(taxonomy: Sequence[dict], name: str, description: str) -> list[dict]:
    """Return the taxonomy with ``name``'s description replaced (one phrasing per line helps zero-shot)."""
    out = validate_taxonomy(taxonomy)
    out[_index(out, name)]["description"] = description.strip()
    return out


def rename_label(taxonomy: Sequence[dict], old: str, new: str) -> list[dict]:
    """Return the taxonomy with label ``old`` renamed to ``new`` (same place, same description).

    The caller relabels the samples: every sample labelled ``old`` is now ``new``. Changing only the case of a name
    ("qa" → "QA") is allowed.
    """
    out = validate_taxonomy(taxonomy)
    i = _index(out, old)
    new = _clean_name(new)
    if any(j != i and label["name"].casefold() == new.casefold() for j, label in enumerate(out)):
        raise TaxonomyError(f"cannot rename {old!r} to {new!r}: that label exists; merge the two instead")
    out[i]["name"] = new
    return out


def merge_labels(taxonomy: Sequence[dict], sources: Sequence[str], into: str) -> list[dict]:
    """Return the taxonomy with the ``sources`` labels folded into label ``into`` (which must exist).

    The merged label keeps its place and description, and gains the sources' description lines, so zero-shot still
    recognises what the sources described. The caller relabels the samples of every source as ``into``.
    """
    out = validate_taxonomy(taxonomy)
    target = _index(out, into)
    if not sources:
        raise TaxonomyError("choose at least one label to merge")
    drop = {_index(out, name) for name in sources} - {target}
    lines = out[target]["description"].splitlines()
    for i in sorted(drop):
        lines += [line for line in out[i]["description"].splitlines() if line.strip() and line not in lines]
    out[target]["description"] = "\n".join(lines)
    return [label for i, label in enumerate(out) if i not in drop]


def remove_label(taxonomy: Sequence[dict], name: str) -> list[dict]:
    """Return the taxonomy without label ``name``; the caller clears that label from its samples."""
    out = validate_taxonomy(taxonomy)
    del out[_index(out, name)]
    return out


# --- zero-shot -----------------------------------------------------------------------------------------------------

# Softmax temperature over cosine similarities. Sentence-embedding cosines between a request and a label
# description sit in a narrow band (~0.1-0.6), so the softmax must be sharp to mean anything: at T = 0.065 a
# similarity lead of 0.065 gives odds of e ≈ 2.7 : 1. 0.065 minimises the log loss on the label fixture, where it
# also makes mean confidence (0.57) match accuracy (0.58); another embedder may want another value.
ZERO_SHOT_TEMPERATURE = 0.065
# The same for the kNN votes and centroid similarities. Not calibrated: the default classifier is logreg.
CLASSIFIER_TEMPERATURE = 0.05


def label_phrasings(taxonomy: Sequence[dict]) -> tuple[list[str], np.ndarray]:
    """The texts to embed for each label: its name and each non-empty line of its description.

    Returns:
        (texts, owner): embed ``texts`` with the samples' embedder, then pass the vectors and ``owner`` (int label
        index per text) to ``label_embeddings``.
    """
    texts: list[str] = []
    owner: list[int] = []
    for i, label in enumerate(taxonomy):
        lines = [line.strip() for line in str(label.get("description") or "").splitlines() if line.strip()]
        for text in [label["name"], *lines]:
            texts.append(text)
            owner.append(i)
    return texts, np.asarray(owner, dtype=np.int64)


def label_embeddings(phrase_emb: np.ndarray, owner: np.ndarray, n_labels: int | None = None) -> np.ndarray:
    """One unit vector per label: the mean direction of its phrasings' normalized embeddings.

    Returns:
        (n_labels, d) float32, row i for label i (zeros for a label with no phrasings).
    """
    x = normalize_rows(phrase_emb)
    owner = np.asarray(owner, dtype=np.int64)
    n_labels = int(owner.max()) + 1 if n_labels is None else n_labels
    sums = np.zeros((n_labels, x.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, x)
    return normalize_rows(sums)


def zero_shot(
    emb: np.ndarray, label_emb: np.ndarray, *, temperature: float = ZERO_SHOT_TEMPERATURE
) -> tuple[np.ndarray, np.ndarray]:
    """The most similar label per sample, by cosine similarity to the label embeddings.

    Confidence is softmax(similarities / temperature) at the chosen label: a probability-like number in (1/L, 1],
    higher is surer. See ``ZERO_SHOT_TEMPERATURE`` for how the temperature was picked.

    Returns:
        (label_idx (n,) int32, confidence (n,) float32).
    """
    return _softmax_pick(normalize_rows(emb) @ normalize_rows(label_emb).T, temperature)


def _softmax_pick(sim: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    if sim.shape[1] == 0:
        raise TaxonomyError("the taxonomy has no labels")
    idx = sim.argmax(axis=1)
    z = (sim - sim.max(axis=1, keepdims=True)) / temperature
    p = np.exp(z)
    conf = 1.0 / p.sum(axis=1)  # the winner's exp(0) = 1 over the sum
    return idx.astype(np.int32), conf.astype(np.float32)


# --- classifiers over confirmed labels -----------------------------------------------------------------------------

CLASSIFIER_KINDS = ("logreg", "knn", "centroid")
# How much one description phrasing weighs against one confirmed sample when they train a classifier together. With
# ~4 phrasings per label, 3 makes a label's description worth ~12 confirmed samples: a few confirmations refine the
# lead's definition instead of overriding it. Measured on the label fixture (5 confirmed per label, 10 splits):
# weight 1 gave +2 points over zero-shot, weight 3 gave +7.
PRIOR_WEIGHT = 3.0
# Inverse L2 strength of the logistic regression (sklearn's default). C = 10 fitted the fixture no better.
LOGREG_C = 1.0
# At C = 1 on unit vectors the logits are small and the probabilities far too timid (mean 0.19 at 65% accuracy), so
# they are multiplied by this factor before the softmax (temperature scaling; the argmax is unchanged). 4 minimises
# the held-out log loss on the fixture and makes mean confidence match accuracy at 2, 5 and 10 confirmed per label.
LOGREG_LOGIT_SCALE = 4.0


@dataclass(frozen=True)
class LabelClassifier:
    """A fitted classifier over unit embeddings.

    Attributes:
        kind: "logreg", "knn" or "centroid".
        vectors: logreg: (L, d) class weights; knn: (m, d) unit training rows; centroid: (c, d) unit centroids.
        labels: the label index of each row of ``vectors``.
        n_labels: size of the label space (labels with no training row are never predicted).
        bias: logreg: (L,) intercepts; otherwise empty.
        weights: knn: (m,) vote weight of each training row; otherwise empty.
        k: neighbours consulted (knn).
    """

    kind: str
    vectors: np.ndarray
    labels: np.ndarray
    n_labels: int
    bias: np.ndarray
    weights: np.ndarray
    k: int


def fit_classifier(
    emb: np.ndarray,
    labels: np.ndarray,
    kind: str = "logreg",
    *,
    n_labels: int | None = None,
    prior_emb: np.ndarray | None = None,
    prior_labels: np.ndarray | None = None,
    prior_weight: float = PRIOR_WEIGHT,
    k: int = 10,
) -> LabelClassifier:
    """Fit a label classifier on confirmed samples, optionally with the label descriptions as extra training rows.

    Args:
        emb: (m, d) embeddings of the confirmed samples.
        labels: (m,) their label indices.
        kind: "logreg" (multinomial logistic regression, ``C = LOGREG_C``), "knn" (similarity-weighted vote of the
            k = min(10, m) nearest rows by cosine) or "centroid" (cosine to each label's weighted mean direction).
        n_labels: size of the label space; default max(labels) + 1.
        prior_emb: embeddings of label description phrasings (``label_phrasings``), or label embeddings; they join
            the training rows with weight ``prior_weight`` each, so labels nobody confirmed yet stay reachable.
        prior_labels: the label index of each prior row.
        prior_weight: weight of a prior row relative to a confirmed sample.
        k: neighbours for knn.
    """
    x = normalize_rows(emb)
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(x):
        raise ValueError(f"{len(y)} labels for {len(x)} embeddings")
    w = np.ones(len(x))
    if prior_emb is not None:
        prior_y = np.asarray(prior_labels, dtype=np.int64)
        x = np.vstack([x, normalize_rows(prior_emb)])
        y = np.concatenate([y, prior_y])
        w = np.concatenate([w, np.full(len(prior_y), float(prior_weight))])
    if len(x) == 0:
        raise TaxonomyError("confirm at least one label before training a classifier")
    n_labels = int(y.max()) + 1 if n_labels is None else int(n_labels)
    empty = np.zeros(0)
    if kind == "logreg":
        present = np.unique(y)
        if len(present) == 1:  # one class: nothing to separate, predict it with confidence 1
            return LabelClassifier("centroid", x[:1], present, n_labels, empty, empty, 1)
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=LOGREG_C, max_iter=2000).fit(x, y, sample_weight=w)
        coef = model.coef_ if len(present) > 2 else np.vstack([-model.coef_, model.coef_]) / 2
        bias = model.intercept_ if len(present) > 2 else np.concatenate([-model.intercept_, model.intercept_]) / 2
        return LabelClassifier("logreg", coef.astype(np.float32), present, n_labels, bias.astype(np.float32), empty, 1)
    if kind == "knn":
        return LabelClassifier("knn", x, y, n_labels, empty, w, max(1, min(int(k), len(x))))
    if kind == "centroid":
        present = np.unique(y)
        sums = np.zeros((n_labels, x.shape[1]), dtype=np.float64)
        np.add.at(sums, y, x * w[:, None])
        return LabelClassifier("centroid", normalize_rows(sums[present]), present, n_labels, empty, empty, 1)
    raise ValueError(f"unknown classifier kind {kind!r}; use one of {CLASSIFIER_KINDS}")


def predict(clf: LabelClassifier, emb: np.ndarray, *, batch: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Predict labels with a fitted classifier.

    Confidence, in (0, 1], higher is surer:

    - logreg: the model's probability of the predicted label, with logits scaled by ``LOGREG_LOGIT_SCALE``.
    - knn: each of the k nearest training rows votes for its label with weight row_weight · exp(cosine / T); the
      confidence is the winning label's share of the vote.
    - centroid: softmax(cosine to each centroid / T) at the best centroid, as in ``zero_shot``.

    Returns:
        (label_idx (n,) int32, confidence (n,) float32). Rows are processed in batches of ``batch``.
    """
    x = normalize_rows(emb)
    idx = np.empty(len(x), dtype=np.int32)
    conf = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), batch):
        part = slice(start, start + batch)
        sim = x[part] @ clf.vectors.T
        if clf.kind == "logreg":
            i, c = _softmax_pick(sim + clf.bias, 1.0 / LOGREG_LOGIT_SCALE)
            idx[part], conf[part] = clf.labels[i], c
        elif clf.kind == "centroid":
            i, c = _softmax_pick(sim, CLASSIFIER_TEMPERATURE)
            idx[part], conf[part] = clf.labels[i], c
        else:
            near = np.argpartition(-sim, clf.k - 1, axis=1)[:, : clf.k]
            near_sim = np.take_along_axis(sim, near, axis=1)
            vote = clf.weights[near] * np.exp((near_sim - near_sim.max(axis=1, keepdims=True)) / CLASSIFIER_TEMPERATURE)
            votes = np.zeros((len(sim), clf.n_labels), dtype=np.float64)
            np.add.at(votes, (np.repeat(np.arange(len(sim)), clf.k), clf.labels[near].ravel()), vote.ravel())
            idx[part] = votes.argmax(axis=1)
            conf[part] = votes.max(axis=1) / votes.sum(axis=1)
    return idx, conf


# --- the suggestion rule -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestions:
    """Suggested labels for every sample.

    Attributes:
        label_idx: (n,) int32 label index.
        confidence: (n,) float32 in (0, 1], higher is surer; sort ascending to review the doubtful ones first.
        source: "zero-shot" or "classifier": which rule produced the suggestions (show it on the page).
    """

    label_idx: np.ndarray
    confidence: np.ndarray
    source: str


def suggest(
    emb: np.ndarray,
    label_emb: np.ndarray,
    confirmed_idx: np.ndarray,
    confirmed_labels: np.ndarray,
    *,
    phrase_emb: np.ndarray | None = None,
    phrase_owner: np.ndarray | None = None,
    min_confirmed: int = 1,
    kind: str = "logreg",
) -> Suggestions:
    """Suggest a label for every sample: zero-shot until labels are confirmed, then a classifier that blends both.

    The rule: with fewer than ``min_confirmed`` confirmed samples, ``zero_shot``. From then on, a classifier trained
    on the confirmed samples *plus* the label descriptions (each phrasing a training row of weight ``PRIOR_WEIGHT``;
    the label embeddings when no phrasings are given). Why a blend and not a switch: on the label fixture a classifier
    on 5 confirmed samples per label *alone* is far worse than zero-shot (kNN 0.39, centroid 0.42 vs 0.58 accuracy),
    because a handful of examples says more about their topics than about their task; with the descriptions as a
    prior it is better (logreg 0.65 at 5 per label, 0.62 at 2), and every label stays reachable however uneven the
    confirmations are. Confirmed samples themselves get their confirmed label with confidence 1.

    Args:
        emb: (n, d) embeddings of all samples.
        label_emb: (L, d) label embeddings (``label_embeddings``).
        confirmed_idx: row indices into ``emb`` of samples whose label a person confirmed.
        confirmed_labels: their label indices, same length.
        phrase_emb, phrase_owner: the description phrasings' embeddings and label indices (``label_phrasings``).
        min_confirmed: confirmed samples needed before the classifier takes over.
        kind: the classifier, one of ``CLASSIFIER_KINDS``.
    """
    confirmed_idx = np.asarray(confirmed_idx, dtype=np.int64)
    confirmed_labels = np.asarray(confirmed_labels, dtype=np.int64)
    if len(confirmed_idx) != len(confirmed_labels):
        raise ValueError(f"{len(confirmed_idx)} confirmed samples but {len(confirmed_labels)} labels")
    n_labels = len(label_emb)
    if len(confirmed_idx) and len(confirmed_idx) >= min_confirmed:
        if phrase_emb is None:
            prior, prior_y = label_emb, np.arange(n_labels)
        else:
            prior, prior_y = phrase_emb, phrase_owner
        clf = fit_classifier(
            normalize_rows(emb)[confirmed_idx], confirmed_labels, kind,
            n_labels=n_labels, prior_emb=prior, prior_labels=prior_y,
        )  # fmt: skip
        idx, conf = predict(clf, emb)
        source = "classifier"
    else:
        idx, conf = zero_shot(emb, label_emb)
        source = "zero-shot"
    idx[confirmed_idx] = confirmed_labels
    conf[confirmed_idx] = 1.0
    return Suggestions(idx, conf, source)


# --- the workspace's labels ----------------------------------------------------------------------------------------
# These take a ``core.store.Store``: the taxonomy lives in the workspace (meta 'taxonomy'), suggestions in
# samples.task_label / task_label_confidence / task_label_source ('suggested'; a person's choice is 'confirmed') and
# task_label_reason (why it was suggested); ``core.label_suggestions`` writes the suggestions.


def workspace_taxonomy(store) -> list[dict]:
    """The workspace's taxonomy, or the default one when no lead has edited it yet."""
    return store.taxonomy() or default_taxonomy()


def edit_taxonomy(store, action: str, *, user: str, **kw) -> int:
    """Apply one edit to the workspace's taxonomy and relabel its samples to match, in one transaction.

    Args:
        action: "add" (name, description), "describe" (name, description), "rename" (old, new), "merge" (sources,
            into) or "remove" (name: its samples lose the label).

    Returns:
        How many samples were relabelled. Raises ``TaxonomyError`` for an edit that makes no sense.
    """
    taxonomy = workspace_taxonomy(store)
    relabel: dict[str, str | None] = {}
    if action == "add":
        new = add_label(taxonomy, kw["name"], kw.get("description", ""))
    elif action == "describe":
        new = describe_label(taxonomy, kw["name"], kw["description"])
    elif action == "rename":
        old = taxonomy[_index(taxonomy, kw["old"])]["name"]
        new = rename_label(taxonomy, old, kw["new"])
        relabel = {old: new[_index(new, kw["new"])]["name"]}
    elif action == "merge":
        new = merge_labels(taxonomy, kw["sources"], kw["into"])
        into = new[_index(new, kw["into"])]["name"]
        relabel = {taxonomy[_index(taxonomy, s)]["name"]: into for s in kw["sources"]}
    elif action == "remove":
        name = taxonomy[_index(taxonomy, kw["name"])]["name"]
        new = remove_label(taxonomy, name)
        relabel = {name: None}
    else:
        raise ValueError(f"unknown taxonomy edit {action!r}")
    return store.set_taxonomy(new, user=user, relabel=relabel)


# --- which embedder suits the workspace's languages ----------------------------------------------------------------

# Sentence-transformers' "all-*" models were trained on English pairs; their tokenizers turn most Chinese characters
# into [UNK]. Measured with the bundled all-MiniLM-L6-v2 on the label fixture: zero-shot 0.85 on English, 0.13 on
# Chinese (chance 0.08).
ENGLISH_ONLY_EMBEDDERS = ("all-minilm", "all-mpnet", "all-distilroberta")
MULTILINGUAL_EMBEDDER = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
NON_ENGLISH_NOTE_SHARE = 0.10  # from this share of non-English samples on, the pages say the embedder is wrong


def english_only_embedder(name: str) -> bool:
    """Whether the embedder ``name`` (an HF id, a local path or the bundled one's name) is known to be English-only."""
    from core.models.embedders import MINILM, bundled_embedder

    bundled = bundled_embedder(name)
    if bundled is not None:
        return bundled is MINILM
    return name.rstrip("/").rsplit("/", 1)[-1].lower().startswith(ENGLISH_ONLY_EMBEDDERS)


def embedder_language_note(store, settings=None, *, share: float = NON_ENGLISH_NOTE_SHARE) -> str | None:
    """A note for the page that suggests labels when the embedder cannot read much of the workspace, else None.

    The embedder is the one behind the current embeddings (or, before there are any, the configured one). The note
    is due when it is English-only and at least ``share`` of the samples whose language the heuristics scorer
    detected are not English. Without the heuristics scorer's languages there is nothing to say.
    """
    from core.errors import NotFound
    from core.models.embedders import DEFAULT_EMBEDDER, MINILM, embedder_name
    from core.store import UNKNOWN_LANGUAGE

    info = store.scorer_keys().get("embedding")
    if info is not None:
        name = info["params"].get("model", "")
    else:
        name = embedder_name(settings.embedder if settings is not None else "")
    if not english_only_embedder(name):
        return None
    try:
        counts = {lang: n for lang, n in store.distribution("language") if lang != UNKNOWN_LANGUAGE}
    except NotFound:
        return None
    known = sum(counts.values())
    other = {lang: n for lang, n in counts.items() if lang != "en"}
    if not known or sum(other.values()) / known < share:
        return None
    top = ", ".join(f"{lang} {n / known:.0%}" for lang, n in sorted(other.items(), key=lambda kv: -kv[1])[:3])
    shown = "the bundled all-MiniLM-L6-v2 (minilm)" if name == MINILM.name else name
    return (
        f"{sum(other.values()) / known:.0%} of the samples are not in English ({top}), but the embedder behind these "
        f"suggestions, {shown}, is English-only: on Chinese requests its zero-shot labels were right 13 % of the "
        f"time (85 % on English). Embed with a multilingual model, e.g. the bundled {DEFAULT_EMBEDDER.alias} (the "
        f"default) or {MULTILINGUAL_EMBEDDER} in the Score page's Embedder field, then suggest labels again."
    )
