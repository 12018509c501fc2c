"""The task-label taxonomy: the default labels, and the pure edits a lead makes to them.

A taxonomy is a list of ``{"name": str, "description": str}`` dicts. The functions that edit it are pure: they take a
taxonomy and return a new one, and raise ``TaxonomyError`` for an empty or duplicate name or a label that does not
exist. The store saves it; samples refer to labels by name, so after ``rename_label(t, old, new)`` the caller
relabels ``old`` samples as ``new``, and after ``merge_labels(t, sources, into)`` every source's samples as ``into``
(``core.labels.workspace.edit_taxonomy`` edits the workspace's taxonomy and relabels its samples in one
transaction).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from core.errors import TaxonomyError, brief

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


def label_index(taxonomy: Sequence[dict], name: str) -> int:
    """The position of label ``name`` (matched ignoring case and spacing), or raise ``TaxonomyError``."""
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
    out[label_index(out, name)]["description"] = description.strip()
    return out


def rename_label(taxonomy: Sequence[dict], old: str, new: str) -> list[dict]:
    """Return the taxonomy with label ``old`` renamed to ``new`` (same place, same description).

    The caller relabels the samples: every sample labelled ``old`` is now ``new``. Changing only the case of a name
    ("qa" → "QA") is allowed.
    """
    out = validate_taxonomy(taxonomy)
    i = label_index(out, old)
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
    target = label_index(out, into)
    if not sources:
        raise TaxonomyError("choose at least one label to merge")
    drop = {label_index(out, name) for name in sources} - {target}
    lines = out[target]["description"].splitlines()
    for i in sorted(drop):
        lines += [line for line in out[i]["description"].splitlines() if line.strip() and line not in lines]
    out[target]["description"] = "\n".join(lines)
    return [label for i, label in enumerate(out) if i not in drop]


def remove_label(taxonomy: Sequence[dict], name: str) -> list[dict]:
    """Return the taxonomy without label ``name``; the caller clears that label from its samples."""
    out = validate_taxonomy(taxonomy)
    del out[label_index(out, name)]
    return out
