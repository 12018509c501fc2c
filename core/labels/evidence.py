"""Cheap, explainable evidence for task labels, first of all code, math and translation.

Similarity to a label's description and examples says what a request is *about*; some tasks show in the text
itself, and a person can check the reason at a glance:

- **code**: code in the request (a fenced block, lines of code, a function call), a request to write, fix or run
  code (a function, a query, a script), a programming language with something to do in it, code in the answer;
- **math**: an equation or arithmetic in the request, a math verb with numbers to work on, a number-heavy word
  problem, math terms, a ``####`` final answer (GSM8K's convention) or a worked calculation in the answer;
- **translation**: a request to translate, or to say something in another language, naming a language;
- and, more briefly: **safety** (a harmful act, asked how to do rather than how to prevent), **roleplay** (asked to
  play a character), and **rewrite**, **summarization**, **extraction** and **classification** when asked of a
  given text.

Each rule adds points for what it sees; a label is suggested when its points reach ``THRESHOLD`` (one strong sign
and one weak one, or two strong ones). The rules run in the order of ``RULES`` and the first sure one wins, so
"write a Python function that computes the average" is code and "translate 'I have 3 apples' into French" is
translation. The reason lists what was seen, e.g. "code: asks to 'Write a function'; a code block in the answer".

Measured on the 785 hand-labelled shared samples (``make bench``, section ``labels``; the README has the table):
code precision 1.00 and recall 0.91, math 0.97 and 0.95, translation 1.00 and 1.00. Rules never touch a label a
person confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THRESHOLD = 3
STRONG, WEAK = 2, 1


@dataclass(frozen=True)
class Evidence:
    """What the rules saw in one sample.

    Attributes:
        label: the label's name in the default taxonomy ("code", "math", "translation", ...).
        points: the label's points (at least ``THRESHOLD``).
        reason: what was seen, for people ("code: asks to 'Write a function'; a code block in the answer").
    """

    label: str
    points: int
    reason: str


# --- code ----------------------------------------------------------------------------------------------------------

# Names that mean nothing else, matched in any case; and names that are also words ("a python", "to swift"), matched
# only as written for the language (Python, JAVA).
_LANGUAGES = (
    r"javascript|typescript|c\+\+|c#|golang|php|kotlin|matlab|sql|mysql|"
    r"postgres(?:ql)?|sqlite|html|css|bash|shell|powershell|regex|regular expressions?|numpy|pandas|react|"
    r"node\.js|jquery|django|flask|c语言"
)
# ASCII boundaries: a Chinese character next to the name ("用Python写") is a boundary too.
_LANGUAGE = re.compile(
    rf"(?<![A-Za-z0-9_+#])(?:(?i:{_LANGUAGES})|Python|PYTHON|Java|JAVA|Ruby|Rust|Swift|Scala|Perl|React)"
    r"(?![A-Za-z0-9_+#])"
)
# Doing something in a language, or something going wrong in code: with a language named, that is code.
_IN_LANGUAGE = re.compile(
    r"\b(?:write|implement|create|build|code|program|debug|fix|refactor|convert|how (?:do|can|would|should|to)|"
    r"crash(?:es)?|segmentation fault|exception|error|bug)\b|如何用|怎么用|怎样用|用.{0,3}(?:写|实现|编写)|报错|异常|错误",
    re.IGNORECASE,
)
# Something to write, fix or run that only exists in programming.
_ARTEFACT_EN = (
    r"function|program|script|code|snippet|query|class|method|algorithm|regular expression|regex|loop|api|"
    r"endpoint|unit test|recursion|web ?page|html page|array|linked list|binary tree|hash ?map|dictionary"
)
_ACTION_EN = re.compile(
    rf"\b(?:write|create|implement|generate|design|develop|build|construct|code|debug|fix|refactor|optimi[sz]e|"
    rf"rewrite|convert|modify|edit|complete|compile|run|execute|output|print)\b[^.?!\n]{{0,40}}?\b(?:{_ARTEFACT_EN})s?\b",
    re.IGNORECASE,
)
_ACTION_ZH = re.compile(
    r"(?:写|编写|创建|实现|生成|设计|开发|构建|修复|调试|优化|改写|修改|编辑|运行|执行|输出)[^。？！\n]{0,20}?"
    r"(?:函数|程序|脚本|代码|查询|类|方法|算法|正则表达式|循环|接口|网页|数组|链表|二叉树|伪代码|语句)"
    r"|这段.{0,6}代码"
)
_KEYWORDS = re.compile(
    r"\b(?:function|variable|array|string|integer|boolean|loop|recursion|compile|syntax|runtime|exception|debug|"
    r"stack trace|api|json|xml|class|object|method|parameter|argument|return value|data structure|linked list|"
    r"database|syntax|tuple|lambda|list comprehension)s?\b|函数|变量|数组|字符串|整数|循环|递归|编译|语法|异常|调试|接口|数据结构|链表|参数|返回值|代码|正则",
    re.IGNORECASE,
)
# Lines that are code in any of the common languages: definitions, control flow, calls, statements ending in ;
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |#include|public |private |static |function |const |let |var |"
    r"return\b|for\s*\(|for \w+ in |while\s*\(|if\s*\(|elif |else:|try:|except\b|SELECT\b|INSERT\b|UPDATE\b|"
    r"CREATE TABLE|<!DOCTYPE|<[a-z][\w-]*(?:\s[^<>]*)?>|<\?php|console\.log|System\.out|printf?\(|print\(|puts |echo |\$ )"
    r"|^.{0,80}[;{}]\s*$|^\s*\w+(?:\.\w+)*\([^()]*\)\s*;?\s*$|^\s*[A-Za-z_]\w*\s*=\s*(?:[\[{\"']|\w+\(|\d+;?\s*$)",
    re.MULTILINE,
)
_FENCE = re.compile(r"```")
# Asked what given code does: "What does the following print?", "这段代码的输出是什么".
_RUN_CODE = re.compile(
    r"\bwhat (?:does|will|would) (?:the following|this|it)(?: code| program| snippet)? (?:print|output|return)|"
    r"\b(?:output|result) of (?:the following|this) (?:code|program|snippet)|(?:代码|程序)的(?:输出|运行结果)",
    re.IGNORECASE,
)
# A call or definition of a named function: snake_case, camelCase or dotted, with parentheses.
_FUNCTION_NAME = re.compile(r"\b(?:[a-z]+_[a-z_0-9]+|[a-z]+[A-Z]\w+|\w+\.\w+)\s*\(")


def _code_lines(text: str) -> int:
    return len(_CODE_LINE.findall(text or ""))


def code_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "code" and the signs seen (see the module docstring)."""
    points, seen = 0, []
    in_prompt = _code_lines(prompt)
    if _FENCE.search(prompt) or in_prompt >= 2:
        points += STRONG
        seen.append("code in the request")
    elif in_prompt:
        points += WEAK
        seen.append("a line of code in the request")
    if m := (_ACTION_EN.search(prompt) or _ACTION_ZH.search(prompt) or _RUN_CODE.search(prompt)):
        points += STRONG
        seen.append(f"asks to {m.group(0).strip()[:40]!r}")
    if (m := _LANGUAGE.search(prompt)) and (doing := _IN_LANGUAGE.search(prompt)):
        points += STRONG + WEAK
        seen.append(f"{doing.group(0).strip()!r} with {m.group(0)}")
    elif m:
        points += WEAK
        seen.append(f"names {m.group(0)}")
    elif (m := _FUNCTION_NAME.search(prompt)) or (m := _KEYWORDS.search(prompt)):
        points += WEAK
        seen.append(f"programming term {m.group(0).strip()!r}")
    fenced = len(_FENCE.findall(answer or "")) >= 2
    in_answer = _code_lines(answer)
    if fenced or in_answer >= 2:
        points += STRONG
        seen.append("a code block in the answer" if fenced else "lines of code in the answer")
    elif in_answer:
        points += WEAK
        seen.append("a line of code in the answer")
    return points, seen


def _around(text: str, m: re.Match, width: int = 12) -> str:
    """The match with a few characters of context, on one line, for a reason."""
    return " ".join(text[max(0, m.start() - width) : m.end() + width].split())


# --- math ----------------------------------------------------------------------------------------------------------

# A number: not inside a Latin word or identifier (a Chinese character before it is fine: "购买5件").
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*%?")
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d")
# Arithmetic in the request: 6+2, 9 - 2 x 3, (2 * 3 + 4) / 5, 2a+3b=20, x^2, ∠A + ∠B = 180. A dash or slash
# counts only with spaces around it (7-9 is a range, 24/7 a phrase).
_ARITHMETIC = re.compile(
    r"(?:\d|\b[a-z]|\))\s*(?:[+*×÷^=]|\*\*)\s*(?:\d|[a-z]\b|\()|\d\s+[-/]\s+\d|\\frac|\\sqrt|√|∫|∑",
    re.IGNORECASE,
)
# A worked calculation in the answer: numbers, an operator, more, then "= number".
_WORKED = re.compile(r"\d[\d.,]*\s*[+\-*/×x÷^]\s*[\d(][^=\n]{0,30}=\s*[$¥€]?-?\d")
# Terms that only math uses, and terms that geography or daily life use too ("the area of Texas").
_MATH_TERMS = re.compile(
    r"\b(?:equations?|derivatives?|integrals?|differentiate|probability|factori[sz]e|arithmetic|mathematical|"
    r"math|algebra(?:ic)?|quadratic|polynomials?|raised to the power|square root|prime factors?|prove that|theorem|"
    r"greatest common (?:divisor|factor)|least common multiple)\b"
    r"|方程|导数|积分|微分|概率|因式分解|数学|代数|平方根|最大公因数|最小公倍数|次方|证明",
    re.IGNORECASE,
)
_MATH_TERMS_WEAK = re.compile(
    r"\b(?:geometry|fractions?|area|volume|perimeter|circumference|radius|diameter|hypotenuse|triangle|percentage|"
    r"even numbers?|odd numbers?|integers?|sum)\b|几何|分数|面积|体积|周长|半径|直径|三角形|表达式|百分比",
    re.IGNORECASE,
)
# Asked to work something out; with two numbers to work on, that alone is math.
_MATH_VERBS = re.compile(
    r"\b(?:calculate|compute|evaluate|simplify|solve|sum up|add up|subtract|multiply|divide|"
    r"find the (?:sum|product|difference|average|mean|median|area|volume|perimeter|value|total)|"
    r"what is the (?:sum|product|difference|average|mean|total|result)|how (?:many|much|long|far)|"
    r"what (?:is|was|will be|would be)(?: the)?)\b"
    r"|计算|求|算出|等于|除以|乘以|加上|减去|多少|几.{0,3}[？?]|总和|平均值|差是",
    re.IGNORECASE,
)
# Chemistry and astronomy write equations too; their requests are about science, not arithmetic.
_NOT_MATH = re.compile(r"\bchemical\b|化学|\bdrake\b|德雷克|\blogic(?:al)? (?:equation|expression)|逻辑(?:方程|表达)",
                       re.IGNORECASE)  # fmt: skip


def math_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "math" and the signs seen (see the module docstring)."""
    if _NOT_MATH.search(prompt):
        return 0, []
    points, seen = 0, []
    numbers = [n for n in _NUMBER.findall(prompt) if not _YEAR.fullmatch(n)]
    if re.search(r"^####\s*-?[\d.,]+\s*$", answer or "", re.MULTILINE):
        points += STRONG + WEAK
        seen.append("a '#### number' final answer")
    if m := _ARITHMETIC.search(prompt):
        points += STRONG + WEAK
        seen.append(f"arithmetic {_around(prompt, m)!r}")
    strong = list(dict.fromkeys(m.lower() for m in _MATH_TERMS.findall(prompt)))
    terms = strong + [t for t in dict.fromkeys(m.lower() for m in _MATH_TERMS_WEAK.findall(prompt)) if t not in strong]
    verb = _MATH_VERBS.search(prompt)
    if strong:
        points += STRONG + (1 if len(terms) > 1 or verb else 0)
        seen.append("math term" + ("s " if len(terms) > 1 else " ") + ", ".join(repr(t) for t in terms[:3]))
    elif terms:
        points += WEAK + (1 if len(terms) > 1 else 0)
        seen.append("term" + ("s " if len(terms) > 1 else " ") + ", ".join(repr(t) for t in terms[:3]))
    if verb and len(numbers) >= 2:
        points += STRONG + WEAK
        seen.append(f"{verb.group(0)!r} with {len(numbers)} numbers")
    elif verb and numbers:
        points += WEAK
        seen.append(f"{verb.group(0)!r}")
    elif terms and len(numbers) >= 2:
        points += WEAK
        seen.append(f"{len(numbers)} numbers")
    if _WORKED.search(answer or ""):
        points += STRONG
        seen.append("a worked calculation in the answer")
    return points, seen


# --- translation ---------------------------------------------------------------------------------------------------

_HUMAN_LANGUAGES = (
    r"english|chinese|mandarin|cantonese|french|spanish|german|italian|portuguese|russian|japanese|korean|arabic|"
    r"hindi|dutch|swedish|norwegian|danish|finnish|greek|turkish|polish|czech|hungarian|romanian|hebrew|persian|"
    r"vietnamese|thai|indonesian|malay|swahili|latin|ukrainian|bengali|urdu|tagalog|foreign language"
)
_HUMAN_LANGUAGE = re.compile(rf"\b(?:{_HUMAN_LANGUAGES})\b", re.IGNORECASE)
_HUMAN_LANGUAGE_ZH = re.compile(
    r"(?:英|中|汉|法|德|日|韩|俄|西班牙|意大利|葡萄牙|阿拉伯|拉丁|荷兰|希腊|土耳其|越南|泰)(?:语|文)|外语|普通话|粤语"
)
_TRANSLATE = re.compile(
    r"\btranslat(?:e|es|ed|ing|ion|ions)\b|\bhow (?:do|would|can) (?:you|i) say\b|\bwhat does .{1,60} mean in\b|"
    r"\bin (?:the )?(?:" + _HUMAN_LANGUAGES + r")\?|\brender\b.{0,60}\bin(?:to)? (?:" + _HUMAN_LANGUAGES + r")\b|"
    r"翻译|译成|译为|译作|怎么说|用.{1,6}(?:语|文)(?:说|表达|写)",
    re.IGNORECASE,
)
# Translating into something that is not a human language is another task.
_NOT_TRANSLATION = re.compile(
    r"\b(?:code|program|function|cipher|binary|boolean|expression|formula|tone|style|emoji|morse|sql|query|"
    r"google translate|translator app)\b|代码|程序|函数|密码|二进制|公式|语气",
    re.IGNORECASE,
)


def translation_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "translation" and the signs seen (see the module docstring)."""
    ask = _TRANSLATE.search(prompt)
    if not ask or _NOT_TRANSLATION.search(prompt) or _LANGUAGE.search(prompt):
        return 0, []
    points, seen = STRONG, [f"asks {ask.group(0).strip()!r}"]
    if m := (_HUMAN_LANGUAGE.search(prompt) or _HUMAN_LANGUAGE_ZH.search(prompt)):
        points += STRONG
        seen.append(f"names {m.group(0)}")
    elif (
        re.match(r"\s*(?:please\s+)?translat|\s*请?翻译", prompt, re.IGNORECASE)
        or "literal translation" in prompt.lower()
    ):
        points += WEAK  # an imperative "Translate ..." with the text in another language
        seen.append("the request starts with it")
    return points, seen


# --- requests about a given text: rewrite, summarize, extract, classify -------------------------------------------

# The request hands over a text or item to work on: an input after the instruction, a quotation, or a reference.
_GIVEN_TEXT = re.compile(
    r"\b(?:the (?:following|given|above|provided)|this|these|below|an?|the) (?:article|text|passage|paragraph|"
    r"sentences?|story|book|essay|report|document|email|conversation|dialogue|speech|review|poem|lyrics|paper|"
    r"novel|movie|film|news|phrase|statement|tweet|words?|list|items?|items|headline|excerpt|abstract)\b|[:：]\s*\S|"
    r"[\"“「『].{4,}[\"”」』]|以下|下面|下列|给定|这篇|这段|这句|这个句子|这首|文章|段落|句子|文本|新闻|短语|评论",
    re.IGNORECASE,
)
_HAS_INPUT = re.compile(r"\n\s*\S.{15,}", re.DOTALL)
# Asking what something is, rather than to work on a text: "explain sentiment analysis", "什么是摘要".
_ABOUT = re.compile(r"^\s*(?:explain|describe|define|what (?:is|are|does)|how (?:is|are|does|do)|why)\b|解释|什么是|概念|定义",
                    re.IGNORECASE)  # fmt: skip


def _given(prompt: str) -> str | None:
    if _HAS_INPUT.search(prompt):
        return "a text to work on"
    if m := _GIVEN_TEXT.search(prompt):
        return f"a given text ({m.group(0).strip()[:30]!r})"
    return None


def _text_task(ask: re.Pattern, prompt: str) -> tuple[int, list[str]]:
    m = ask.search(prompt)
    if not m or _ABOUT.search(prompt):
        return 0, []
    points, seen = STRONG, [f"asks {m.group(0).strip()[:40]!r}"]
    if given := _given(prompt):
        points += STRONG
        seen.append(given)
    return points, seen


_SUMMARIZE = re.compile(
    r"\b(?:summar(?:y|ies|ise|ize|ising|izing)|sum up|tl;?dr|condense|main (?:idea|points?)|key (?:points|takeaways|"
    r"findings))\b|总结|概括|摘要|概述|归纳|缩减|提炼|要点|主要内容|中心思想",
    re.IGNORECASE,
)
_REWRITE = re.compile(
    r"\b(?:rewrite|re-write|rephrase|paraphrase|reword|proofread|edit (?:the|this|these|my)|correct (?:the|this|any) "
    r"(?:grammar|spelling|sentence|text|mistakes?|errors?)|make (?:it|this|the (?:following )?(?:sentence|text|"
    r"paragraph)) (?:more|less|sound)|change (?:the|this) (?:following )?sentences?|(?:passive|active) voice|"
    r"simplify (?:the|this) (?:following )?(?:sentence|text|paragraph)|improve (?:the|this) (?:following )?"
    r"(?:sentence|text|paragraph|headline))\b|改写|重写|重述|改述|润色|修改|改成|改为|换一种说法|被动语态|主动语态|更正|纠正",
    re.IGNORECASE,
)
_EXTRACT = re.compile(
    r"\b(?:extract|pull out|find (?:all|every) (?:the )?(?:names?|dates?|numbers?|nouns?|verbs?|adjectives?|words?|"
    r"entities|keywords?|proper nouns?)|list (?:all )?the (?:names|dates|people|places|nouns|verbs|adjectives|"
    r"keywords) (?:in|from|mentioned)|identify the (?:subject|predicate|verb|main clause)|from the (?:given )?"
    r"(?:text|passage|paragraph|sentence|article)\b.{0,40}\b(?:list|find|answer|identify|create))\b|提取|抽取|"
    r"找出.{0,12}(?:中的|文中|句中|所有)|识别.{0,12}(?:中的|文中|所有)",
    re.IGNORECASE,
)
_CLASSIFY = re.compile(
    r"\b(?:classify|categori[sz]e|sentiment|label (?:each|the following|these|this)|which (?:category|genre|class)|"
    r"(?:sort|group) (?:the following|these|them) .{0,30}into|is (?:this|the following|it) .{1,40} or .{1,30}\?)"
    r"|分类|归类|类别|情感|情绪|属于哪|是.{1,12}还是.{1,12}[？?]",
    re.IGNORECASE,
)


def summarization_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "summarization": asked to summarize, and a text to summarize."""
    return _text_task(_SUMMARIZE, prompt)


def rewrite_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "rewrite": asked to rewrite, edit or correct, and a text to work on."""
    return _text_task(_REWRITE, prompt)


def extraction_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "extraction": asked to pull something out of a text, and the text."""
    return _text_task(_EXTRACT, prompt)


def classification_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "classification": asked to classify, and something to classify."""
    return _text_task(_CLASSIFY, prompt)


# --- roleplay ------------------------------------------------------------------------------------------------------

_ROLEPLAY = re.compile(
    r"\b(?:pretend (?:you are|you're|to be|that you are)|imagine (?:you are|you're) (?:a|an|the)\b|act as (?:a|an|my|"
    r"the)\b|role-?play|play the (?:role|part) of|stay in character|in character as|take on the role of|"
    r"^\s*you are (?:a|an|my|the) [^.?!\n]{1,40}[.!]\s+\S)"
    r"|扮演|假装你是|假设你是一?[名个位只]|想象你是|你现在是|用.{1,8}的口吻",
    re.IGNORECASE,
)


def roleplay_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "roleplay": asked to play a character (one sign is enough)."""
    if m := _ROLEPLAY.search(prompt):
        return THRESHOLD, [f"asks {m.group(0).strip()!r}"]
    return 0, []


# --- safety --------------------------------------------------------------------------------------------------------

_HARM = re.compile(
    r"\b(?:bombs?|explosives?|weapons?|guns?|firearms?|meth(?:amphetamine)?|cocaine|heroin|drugs?|poison(?:ing)?|kill|"
    r"murder|hurt|suicide|self-harm|hack(?:ing)? into|break into|steal(?:ing)?|shoplift(?:ing)?|rob|fraud|scam|"
    r"phishing|counterfeit|fake id|launder(?:ing)?|bull(?:y|ies|ying)|harass(?:es|ing)?|threat(?:en|ens|ening)?|"
    r"stalk(?:ing)?|lethal dose|rumou?rs?)\b"
    r"|伤害|杀|毒品|冰毒|炸药|炸弹|武器|枪|偷|盗取|诈骗|骗|黑客|入侵|破解|恐吓|威胁|欺凌|自杀|谣言|伪造|安眠药",
    re.IGNORECASE,
)
_DO_IT = re.compile(
    r"\b(?:how (?:do|can|could|would|to|much|many)|ways? to|teach|help me|give me|write|steps?|instructions|tell me|"
    r"explain how to|best way)\b|怎么|如何|怎样|教我|帮我|写一|步骤|多少",
    re.IGNORECASE,
)
# Protecting against harm, or talking about it, is not a harmful request.
_PROTECT = re.compile(
    r"\b(?:prevent|protect|avoid|detect|detection|stop|defend|recogni[sz]e|report|ethical|difference between|"
    r"history|novels?|stor(?:y|ies)|poems?|films?|movies?|books?|characters?|risks? of|dangers? of|effects? of|"
    r"laws?|polic(?:y|ies)|control|regulations?|legislation|debate|argument|essay)\b|防止|保护|避免|识别|预防|"
    r"阻止|举报|区别|小说|故事|危害",
    re.IGNORECASE,
)


def safety_evidence(prompt: str, answer: str) -> tuple[int, list[str]]:
    """Points for "safety": a harmful act, asked how to do it, and nothing that says it is to prevent it."""
    harm = _HARM.search(prompt)
    if not harm or _PROTECT.search(prompt) or not (ask := _DO_IT.search(prompt)):
        return 0, []
    return THRESHOLD, [f"asks {ask.group(0).strip()!r} about {harm.group(0)!r}"]


# --- all rules -----------------------------------------------------------------------------------------------------

# In this order: the first rule sure enough wins ("rewrite this code" is code, "summarize the review's sentiment"
# is summarization).
RULES = (
    ("code", code_evidence),
    ("translation", translation_evidence),
    ("math", math_evidence),
    ("safety", safety_evidence),
    ("roleplay", roleplay_evidence),
    ("rewrite", rewrite_evidence),
    ("summarization", summarization_evidence),
    ("extraction", extraction_evidence),
    ("classification", classification_evidence),
)


def find_evidence(prompt: str, answer: str = "", *, labels=None) -> Evidence | None:
    """The first label (in the order of ``RULES``) whose rule reaches ``THRESHOLD``, with its reason.

    Args:
        prompt: the request: the user turns joined by newlines.
        answer: the final answer (code blocks, worked calculations and ``####`` answers show there).
        labels: the names the taxonomy has, matched ignoring case; a rule whose label is not there is skipped.
            None allows all.

    Returns:
        an ``Evidence``, or None when no rule is sure enough.
    """
    allowed = None if labels is None else {str(name).casefold() for name in labels}
    for label, rule in RULES:
        if allowed is not None and label not in allowed:
            continue
        points, seen = rule(prompt or "", answer or "")
        if points >= THRESHOLD:
            return Evidence(label, points, f"{label}: " + "; ".join(seen))
    return None
