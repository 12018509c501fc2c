"""Planted near copies for dedup tests and the bench: a text changed the way a copy in real data drifts.

``near_copy`` makes one of three kinds of copy, chosen by ``kind``:

0. typos: about 2 % of the characters substituted, deleted or doubled (at least one edit);
1. reformatted: punctuation swapped between full- and half-width, spaces added or removed, and a 1 % of typos;
2. trimmed: the last ~10 % of the text cut off (an answer that lost its last sentence), and 1 % of typos.

Every edit stays in the script it touches (a Chinese character is replaced by a Chinese character), so a copy is
what someone would call the same sample. Deterministic for a given ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

_HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
_LATIN = "abcdefghijklmnopqrstuvwxyz"
_WIDTH = {"，": ",", ",": "，", "。": ".", ".": "。", "：": ":", ":": "：", "？": "?", "?": "？", "！": "!", "!": "！"}


def _typos(text: str, rate: float, rng: np.random.Generator) -> str:
    chars = list(text)
    for _ in range(max(1, round(len(chars) * rate))):
        if not chars:
            break
        i = int(rng.integers(len(chars)))
        c = chars[i]
        pool = _HAN if "\u4e00" <= c <= "\u9fff" else _LATIN if c.isalpha() else None
        action = int(rng.integers(3))
        if action == 0 and pool:
            chars[i] = pool[int(rng.integers(len(pool)))]
        elif action == 1 and len(chars) > 1:
            del chars[i]
        else:
            chars.insert(i, c)
    return "".join(chars)


def near_copy(text: str, rng: np.random.Generator, kind: int) -> str:
    """A near copy of ``text`` of the given kind (0 typos, 1 reformatted, 2 trimmed; see the module docstring)."""
    kind %= 3
    if kind == 0:
        return _typos(text, 0.02, rng)
    if kind == 1:
        chars = [_WIDTH.get(c, c) if rng.random() < 0.7 else c for c in text]
        out = "".join(c + " " if c in "，,。." and rng.random() < 0.3 else c for c in chars)
        return _typos(out, 0.01, rng)
    keep = max(1, round(len(text) * 0.9))
    return _typos(text[:keep], 0.01, rng)
