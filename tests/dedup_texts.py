"""Texts for the dedup tests: English and Chinese prompts written for the tests, their exact and near copies, and
the pairs a dedup should find."""

from __future__ import annotations

import itertools

import numpy as np

# Sixty English and fifty Chinese prompts, written for this test. Each base text is two consecutive prompts, so
# neighbouring bases share one sentence (Jaccard about 1/3): hard negatives that must not be called duplicates.
EN = [
    "Explain why the sky appears blue during the day but turns red and orange at sunset.",
    "Write a Python function that returns the n-th Fibonacci number using memoization.",
    "What are the main differences between a mutual fund and an exchange-traded fund?",
    "Summarize the plot of Pride and Prejudice in three sentences for a high school student.",
    "Give me five tips for keeping basil plants healthy on a sunny kitchen windowsill.",
    "How does compound interest work, and why does starting to save early matter so much?",
    "Translate the sentence 'The train leaves at seven tomorrow morning' into French.",
    "Draft a polite email asking my landlord to repair the broken heater in the bedroom.",
    "What is the difference between TCP and UDP, and when would you choose each one?",
    "Describe the water cycle, including evaporation, condensation, precipitation and runoff.",
    "Suggest a three-day itinerary for a first visit to Lisbon on a modest budget.",
    "Why do cats knead blankets with their paws before lying down to sleep?",
    "Write a haiku about the first snowfall of winter in a quiet mountain village.",
    "List the steps to change a flat tire safely on the shoulder of a highway.",
    "Explain the concept of opportunity cost with an example from everyday life.",
    "How can I convert a CSV file with a header row into a list of dictionaries in Python?",
    "What causes the seasons on Earth, and why is it not the distance from the Sun?",
    "Recommend three science fiction novels for someone who loved The Martian.",
    "Outline the key arguments for and against a four-day working week.",
    "How do vaccines train the immune system to recognize a specific virus?",
    "Write a SQL query that finds the top five customers by total order value last year.",
    "What should I pack for a week-long hiking trip in the Scottish Highlands in May?",
    "Explain the rules of chess castling, including when it is not allowed.",
    "Compose a short bedtime story about a lighthouse keeper and a lost seagull.",
    "Why is the Great Barrier Reef losing coral, and what can be done about it?",
    "Describe how a bill becomes a law in the United States Congress.",
    "Give a beginner-friendly explanation of what a neural network actually learns.",
    "How do I make a sourdough starter from scratch, and how long does it take?",
    "Compare the climates of Norway and New Zealand for a traveller in December.",
    "Write a limerick about a programmer who forgot to close a parenthesis.",
    "What are the health benefits and risks of intermittent fasting?",
    "Explain the difference between weather and climate to a ten-year-old.",
    "How should I prepare for a job interview at a small design studio?",
    "Create a weekly cleaning schedule for a two-bedroom apartment shared by three people.",
    "Why does ice float on water when most solids sink in their own liquid?",
    "Describe the causes and consequences of the French Revolution in one paragraph.",
    "What is a hash table, and why are lookups usually constant time on average?",
    "Suggest names for a cozy bookshop café that also sells board games.",
    "How do noise-cancelling headphones remove the sound of an airplane engine?",
    "Write a motivational message for a friend who is running their first marathon.",
    "Explain what inflation is and how central banks try to keep it under control.",
    "Give me a recipe for a vegetarian chili that can be cooked in a slow cooker.",
    "What were the main achievements of the Apollo 11 mission in 1969?",
    "How can a small team use Git branches to avoid overwriting each other's work?",
    "Describe the life cycle of a monarch butterfly from egg to adult.",
    "What is the Pythagorean theorem, and how can it help measure a ladder's reach?",
    "Write a product description for a waterproof backpack designed for cyclists.",
    "Why do we dream, according to the leading scientific theories?",
    "Explain the offside rule in football using a simple diagram described in words.",
    "What are good strategies for learning vocabulary in a new language every day?",
    "How does a refrigerator keep food cold using a compressor and refrigerant?",
    "Plan a surprise birthday party for a colleague who loves jazz and Italian food.",
    "Describe the architecture of a Gothic cathedral and the purpose of flying buttresses.",
    "What is the difference between a virus and a bacterium, and why do antibiotics only work on one?",
    "Write a regular expression that matches a US ZIP code with an optional four-digit suffix.",
    "How do tides work, and why are there usually two high tides each day?",
    "Suggest a beginner strength training routine that needs only a pair of dumbbells.",
    "Explain why the Roman Empire split into eastern and western halves.",
    "What is the best way to store fresh herbs so they last longer in the fridge?",
    "Write a short speech thanking volunteers who cleaned up the riverbank last weekend.",
]
ZH = [
    "请解释为什么天空在白天是蓝色的，而日落时会变成红色。",
    "用Python写一个函数，计算一个列表中所有偶数的和。",
    "基金和股票有什么区别？新手应该怎样开始投资？",
    "请用三句话概括《红楼梦》的主要情节。",
    "在阳台上种番茄需要注意哪些事项？",
    "复利是怎么计算的？为什么要尽早开始储蓄？",
    "帮我写一封邮件，请房东修理卧室里坏掉的暖气。",
    "TCP和UDP有什么不同？分别适合什么场景？",
    "请描述水循环的过程，包括蒸发、凝结和降水。",
    "为一次三天的杭州旅行推荐一个经济实惠的行程。",
    "猫为什么喜欢在睡觉前用爪子踩毯子？",
    "写一首关于初雪的五言绝句。",
    "在高速公路上更换爆胎的安全步骤是什么？",
    "用一个生活中的例子解释机会成本的概念。",
    "地球为什么会有四季变化？",
    "推荐三本适合高中生阅读的科幻小说。",
    "四天工作制有哪些优点和缺点？",
    "疫苗是如何让免疫系统识别病毒的？",
    "写一条SQL语句，找出去年订单总额最高的五位客户。",
    "五月份去云南徒步一周需要带哪些装备？",
    "请解释国际象棋中王车易位的规则。",
    "给孩子讲一个关于灯塔看守人和迷路海鸥的睡前故事。",
    "珊瑚礁为什么会白化？我们能做些什么？",
    "用通俗的语言解释神经网络到底学到了什么。",
    "如何从零开始养一罐酸面包的酵头？",
    "间歇性断食对健康有哪些好处和风险？",
    "如何向十岁的孩子解释天气和气候的区别？",
    "去一家小型设计工作室面试前应该怎样准备？",
    "为三个人合租的两居室制定一份每周打扫计划。",
    "为什么冰会浮在水面上？",
    "用一段话说明辛亥革命的原因和影响。",
    "哈希表是什么？为什么查找的平均时间是常数？",
    "给一家兼卖桌游的书店咖啡馆起几个名字。",
    "降噪耳机是怎样消除飞机发动机噪音的？",
    "给第一次跑马拉松的朋友写一段鼓励的话。",
    "什么是通货膨胀？央行如何控制通胀？",
    "推荐一道适合用电饭煲做的素食菜谱。",
    "阿波罗11号任务取得了哪些主要成就？",
    "小团队如何使用Git分支避免互相覆盖代码？",
    "描述帝王蝶从卵到成虫的生命周期。",
    "勾股定理是什么？怎样用它计算梯子能够到的高度？",
    "为一款专为骑行者设计的防水背包写一段产品介绍。",
    "人为什么会做梦？主流的科学理论怎么说？",
    "用文字描述足球中的越位规则。",
    "每天学习外语单词有哪些好方法？",
    "冰箱是如何利用压缩机和制冷剂保持低温的？",
    "为一位喜欢爵士乐和意大利菜的同事策划一个惊喜生日派对。",
    "病毒和细菌有什么区别？为什么抗生素只对细菌有效？",
    "潮汐是怎样形成的？为什么每天通常有两次涨潮？",
    "新鲜香草怎样保存才能在冰箱里放得更久？",
]


def _exact_variant(text: str, kind: int) -> str:
    """A copy that differs only in what ``normalize_text`` removes: case, spacing, punctuation at the ends."""
    return [
        lambda t: t.upper(),
        lambda t: "  " + t.replace(" ", "   ") + "\n",
        lambda t: "«" + t + "!!",
        lambda t: t.rstrip("。？?.") + "……",
    ][kind % 4](text)


def _near_variant(text: str, kind: int, zh: bool) -> str:
    """A copy with one small edit: a typo, an inserted word, a changed word or character."""
    mid = len(text) // 2
    if zh:
        return [
            lambda t: t[:mid] + "某" + t[mid + 1 :],  # one character replaced
            lambda t: "请问" + t,  # two characters inserted
            lambda t: t[:mid] + "一下" + t[mid:],  # two characters inserted inside
        ][kind % 3](text)
    words = text.split(" ")
    swap = next(
        i for i in range(mid, len(text)) if text[i].isalpha() and text[i + 1].isalpha() and text[i] != text[i + 1]
    )
    return [
        lambda t: t[:swap] + t[swap + 1] + t[swap] + t[swap + 2 :],  # two letters swapped
        lambda t: " ".join([*words[:5], "really", *words[5:]]),  # a word inserted
        lambda t: " ".join([*words[:3], "quickly" if words[3] != "quickly" else "slowly", *words[4:]]),  # replaced
    ][kind % 3](text)


def dedup_fixture() -> tuple[list[str], list[int], list[str]]:
    """200 texts: 110 distinct bases (60 EN, 50 ZH), 40 exact and 50 near copies of bases.

    Returns:
        (texts, family, kind): ``family[i]`` is the base each text copies (its own index for a base), and
        ``kind[i]`` is "base", "exact" or "near".
    """
    bases = [EN[k] + " " + EN[(k + 1) % len(EN)] for k in range(len(EN))]
    bases += [ZH[k] + ZH[(k + 1) % len(ZH)] for k in range(len(ZH))]
    texts, family, kind = list(bases), list(range(len(bases))), ["base"] * len(bases)
    rng = np.random.default_rng(7)
    for j, b in enumerate(rng.choice(len(bases), 40, replace=False).tolist()):
        texts.append(_exact_variant(bases[b], j))
        family.append(b)
        kind.append("exact")
    for j, b in enumerate(rng.choice(len(bases), 50, replace=False).tolist()):
        texts.append(_near_variant(bases[b], j, zh=b >= len(EN)))
        family.append(b)
        kind.append("near")
    return texts, family, kind


def pair_set(groups: list[list[int]]) -> set[tuple[int, int]]:
    return {(a, b) for g in groups for a, b in itertools.combinations(sorted(g), 2)}


def true_pairs(family: list[int], kinds: set[str]) -> set[tuple[int, int]]:
    """Pairs of texts in one family where every text is the base or of ``kinds``."""
    members: dict[int, list[int]] = {}
    for i, f in enumerate(family):
        members.setdefault(f, []).append(i)
    return pair_set([[i for i in m if i == f or KIND[i] in kinds] for f, m in members.items()])


TEXTS, FAMILY, KIND = dedup_fixture()
