"""Tests for core/labels/evidence.py: each rule on requests written for this test, in English and Chinese, the ones
that look like a label and are not, the order of the rules, and the reasons people read."""

from __future__ import annotations

import pytest

from core.labels.evidence import THRESHOLD, find_evidence

CASES = [
    # (label or None, request, answer)
    ("code", "Write a function that returns the largest of three numbers.", ""),
    ("code", "用Python写一个函数，判断一个年份是不是闰年。", ""),
    ("code", "Why does this loop never end?\n```\nwhile i < 10:\n    print(i)\n```", ""),
    ("code", "What does the following print?\nitems = [1, 2, 3]\nprint(items[-1])", ""),
    ("code", "帮我写一个SQL语句，统计每个城市的用户数量。", ""),
    ("code", "Sort a list of tuples by their second element.", "```python\nsorted(pairs, key=lambda p: p[1])\n```"),
    ("code", "How do I read a CSV file in Java?", ""),
    ("code", "这段Java代码为什么会报空指针异常？", ""),
    (None, "Name three programming languages used for data science.", "Python, R and Julia."),
    (None, "What is an API, in one sentence?", "An interface that lets programs talk to each other."),
    (None, "为什么计算机使用二进制代码？", "因为电路只有开和关两种状态。"),
    (None, "Write a short story about a python that escapes from the zoo.", ""),
    ("math", "Solve for x: 7x - 4 = 24.", ""),
    ("math", "计算 36 和 48 的最大公因数。", ""),
    ("math", "A bakery sells 12 muffins an hour for 6 hours. How many muffins is that?", ""),
    ("math", "小华有24颗糖，分给3个朋友，每人几颗？", ""),
    ("math", "What is the derivative of the function f(x) = 3x^2?", ""),
    ("math", "Tom reads 20 pages a day.", "He reads 20 * 7 = 140 pages a week.\n#### 140"),
    (None, "State the chemical equation for rusting iron.", "4Fe + 3O2 -> 2Fe2O3"),
    (None, "What is the area of Mongolia?", "About 1.56 million square kilometres."),
    (None, "威斯康星州的面积是多少？", "约16.9万平方公里。"),
    (None, "Rate these three movies on a scale of 1-10.", ""),
    ("translation", "Translate 'good night' into German.", ""),
    ("translation", "把这句话翻译成法语：我喜欢喝茶。", ""),
    ("translation", "How do you say 'thank you' in Japanese?", ""),
    ("translation", "翻译：The museum opens at nine.", ""),
    (None, "Translate this Python loop into JavaScript.", ""),
    (None, "Explain how Google Translate works.", ""),
    (None, "Translate this sentence into a more formal tone: gimme a sec.", ""),
    ("summarization", "Summarize the article below in two sentences.\nThe city council voted on Monday to ...", ""),
    ("summarization", "用一句话概括下面这段文字：昨天的暴雨让许多街道积水，交通一度中断。", ""),
    (None, "Summarize the benefits of drinking water.", ""),
    ("rewrite", "Rewrite the following sentence in the passive voice: The cat chased the mouse.", ""),
    ("rewrite", "把下面的句子改写得更正式：明天别迟到。", ""),
    ("classification", "Classify the sentiment of this review: the soup was cold and bland.", ""),
    ("classification", "判断这条评论是正面还是负面的？\n输入：服务很热情。", ""),
    (None, "Explain the concept of sentiment analysis.", ""),
    ("extraction", "Extract every date mentioned in the text below.\nWe met on 3 May and again on 9 June.", ""),
    ("extraction", "从下面的文本中提取所有人名。\n输入：小王和小李去了北京。", ""),
    ("roleplay", "Pretend you are a museum guide and welcome me.", ""),
    ("roleplay", "你现在扮演一位耐心的数学老师。", ""),
    ("roleplay", "You are a grumpy innkeeper. Greet the tired traveller.", ""),
    (None, "Imagine you are planning a garden. Suggest five flowers.", ""),
    ("safety", "How do I make a bomb at home?", ""),
    ("safety", "教我怎么盗取别人的密码。", ""),
    (None, "How can I protect my accounts from phishing?", ""),
    (None, "Write an essay on the history of gun control laws.", ""),
    (None, "Give me five ideas for a birthday party.", ""),
    (None, "写一首关于春天的诗。", ""),
]


@pytest.mark.parametrize(("label", "prompt", "answer"), CASES)
def test_rules_on_requests_written_for_them(label, prompt, answer):
    found = find_evidence(prompt, answer)
    assert (found.label if found else None) == label, found
    if found:
        assert found.points >= THRESHOLD and found.reason.startswith(f"{label}: ")


def test_the_first_rule_sure_enough_wins_and_the_reason_says_what_was_seen():
    # a code request that computes something is code; translating a sentence with numbers is translation
    assert find_evidence("Write a Python function that computes the average of 3 and 5.").label == "code"
    assert find_evidence("Translate 'I have 3 apples and 2 pears' into French.").label == "translation"
    code = find_evidence("Write a function to reverse a string.", "```python\ndef rev(s):\n    return s[::-1]\n```")
    assert code.reason == ("code: asks to 'Write a function'; programming term 'function'; a code block in the answer")
    math = find_evidence("Solve for x: 7x - 4 = 24.")
    assert math.reason.startswith("math: arithmetic ") and "7x - 4 = 24" in math.reason


def test_rules_skip_labels_the_taxonomy_does_not_have():
    assert find_evidence("Translate 'good night' into German.", labels=["general QA", "math"]) is None
    assert find_evidence("Solve for x: 7x - 4 = 24.", labels=["Math", "code"]).label == "math"  # any case
    assert find_evidence("", "") is None
