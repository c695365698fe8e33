"""Training and measurement pairs for the claim verifier, built from the question bank alone.

`python scripts/build_verifier_pairs.py [--out DIR] [--seed N]` writes `train.jsonl` and
`heldout.jsonl` (one pair a line: premise, hypothesis, label, question_id, kind). The premise is a
bank statement (a rubric point, a sentence of the reference answer, or a common error), the
hypothesis what a candidate might say; the label is supports / contradicts / neither:

- supports: a reference sentence or rubric point against units of the question's well-graded anchors
  that come closest to it, the reference sentence that states a rubric point, a clause of a sentence
  (saying part of it), and rule rewordings (words of the same sense, English terms for Chinese ones,
  an aside dropped, spacing, case, particles, a spoken opening, two unordered clauses exchanged);
- contradicts: each common error against the rubric point and the reference sentence it negates, and
  rule perturbations of reference sentences, rubric points and anchor units (swap two named methods
  or roles, flip a comparison, negate, change a number or a complexity, swap an order), also of
  reworded statements;
- neither: units of the same question about another point, and units of other questions.

Split by question (a fixed hash of the question id): the held-out questions' pairs are only for
measuring (`scripts/measure_verifier.py`), never for training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator.bank.statements import error_claim, reference_units  # noqa: E402
from evaluator.judges.offline import CHECKED_STATEMENTS  # noqa: E402
from evaluator.matching.index import embed_with_stores  # noqa: E402
from evaluator.models import Question  # noqa: E402
from evaluator.text import split_units  # noqa: E402

SEED = 17
HELDOUT_PERCENT = 15  # of 100 hash buckets of the question id
WELL_GRADED = 85
SUPPORT_COSINE = 0.86  # an anchor unit this close to a statement (and closest to it) states it
NEITHER_RANK = 3  # a statement ranked this far down for a unit is about another point
TRUE_PAIR_POINTS = 3  # a true text is paired with this many of its closest rubric points
LABELS = ("supports", "contradicts", "neither")


def is_heldout(qid: str) -> bool:
    return int(hashlib.sha1(f"verifier:{qid}".encode()).hexdigest(), 16) % 100 < HELDOUT_PERCENT


# ---------------------------------------------------------------------------------------------
# Perturbations: each returns the changed text, or None where it does not apply.

# Pairs of words whose exchange inverts a claim. Each side is tried in both directions.
OPPOSITES = [
    ("更大", "更小"), ("变大", "变小"), ("增大", "减小"), ("增加", "减少"), ("增长", "下降"), ("提高", "降低"),
    ("升高", "降低"), ("上升", "下降"), ("越大", "越小"), ("越多", "越少"), ("越高", "越低"), ("越长", "越短"),
    ("之前", "之后"), ("前面", "后面"), ("上溢", "下溢"), ("高于", "低于"), ("大于", "小于"), ("多于", "少于"),
    ("优于", "不如"), ("更快", "更慢"), ("加快", "减慢"), ("加速", "减速"), ("更长", "更短"), ("更多", "更少"),
    ("更高", "更低"), ("更好", "更差"), ("更稳定", "更不稳定"), ("稀疏", "稠密"), ("串行", "并行"), ("同步", "异步"),
    ("显式", "隐式"), ("静态", "动态"), ("全局", "局部"), ("绝对", "相对"), ("最大", "最小"), ("放大", "缩小"),
    ("扩大", "缩小"), ("正相关", "负相关"), ("在线", "离线"), ("有监督", "无监督"), ("浅层", "深层"),
    ("粗粒度", "细粒度"), ("训练时", "推理时"), ("编码器", "解码器"), ("左侧", "右侧"), ("左边", "右边"),
    ("上界", "下界"), ("上限", "下限"), ("过拟合", "欠拟合"), ("收敛更快", "收敛更慢"), ("省显存", "费显存"),
    ("encoder", "decoder"), ("Encoder", "Decoder"), ("larger", "smaller"), ("more", "fewer"), ("before", "after"),
    ("higher", "lower"), ("increase", "decrease"), ("faster", "slower"), ("Pre-Norm", "Post-Norm"),
    ("Pre-LN", "Post-LN"), ("prefill", "decode"), ("on-policy", "off-policy"), ("chosen", "rejected"),
    ("正样本", "负样本"), ("教师", "学生"), ("生成器", "判别器"), ("按行", "按列"), ("更宽", "更窄"),
    ("前向", "反向"), ("顺序", "逆序"), ("一阶", "二阶"), ("单向", "双向"), ("因果", "双向"), ("可学习", "固定"),
]  # fmt: skip
_NEGATABLE = re.compile(r"(是|会|能|需要|可以|影响|改变|依赖|增加|参与|保证|等于|支持|适合|有助于|导致)")
_DENIALS = [("不是", "是"), ("并不", ""), ("不会", "会"), ("不需要", "需要"), ("无需", "需要"), ("没有", "有"),
            ("不能", "能"), ("不影响", "影响"), ("不改变", "改变"), ("不依赖", "依赖"), ("不增加", "增加"),
            ("无法", "可以"), ("不必", "必须")]  # fmt: skip
_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9_+\-]*[A-Za-z0-9](?:-\d+)?")
_GENERIC = {"the", "and", "for", "with", "token", "tokens", "loss", "batch", "size", "head", "dim", "layer"}
_NUMBER = re.compile(r"(?<![A-Za-z_\-.\d])(\d+(?:\.\d+)?)")
# Names joined like this are a list (「SAFE、FacTool」): exchanging them changes nothing.
_LIST_GAP = re.compile(r"^[\s、,，/和与或及+]*$")
_COMPLEXITY = [
    ("O(n²)", "O(n)"), ("O(n^2)", "O(n)"), ("O(n)", "O(n²)"), ("O(1)", "O(n)"), ("O(N²)", "O(N)"),
    ("O(N)", "O(N²)"), ("n²", "n"), ("平方", "线性"), ("线性", "平方"), ("二次", "线性"), ("指数", "线性"),
]  # fmt: skip
_ORDER = [
    re.compile(r"先([^，。；先再后]{1,20})(，?)再([^，。；]{1,20})"),
    re.compile(r"先([^，。；先再后]{1,20})(，?)后([^，。；]{1,20})"),
]
_ARROW = re.compile(r"([^\s→，。；]{1,15})\s*(→|->)\s*([^\s→，。；]{1,15})")


def swap_names(text: str, rng: random.Random) -> str | None:
    found = [m.group(0) for m in _NAME.finditer(text)]
    distinct = list(dict.fromkeys(n for n in found if n.lower() not in _GENERIC and len(n) >= 2))
    pairs = [(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1 :] if a.lower() not in b.lower()]
    pairs = [(a, b) for a, b in pairs if b.lower() not in a.lower() and not _listed(text, a, b)]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    return _exchange(text, a, b)


def _listed(text: str, a: str, b: str) -> bool:
    i, j = text.index(a), text.index(b)
    gap = text[i + len(a) : j] if i < j else text[j + len(b) : i]
    return bool(_LIST_GAP.match(gap))


def swap_roles(text: str, rng: random.Random) -> str | None:
    both = [(a, b) for a, b in OPPOSITES if a in text and b in text]
    if not both:
        return None
    a, b = rng.choice(both)
    return _exchange(text, a, b)


def flip(text: str, rng: random.Random) -> str | None:
    options = []
    for a, b in OPPOSITES:
        for x, y in ((a, b), (b, a)):
            if x in text and y not in text and not (len(x) == 1 and text.count(x) > 1):
                options.append((x, y))
    if not options:
        return None
    x, y = rng.choice(options)
    return _replace_nth(text, x, y, rng)


def negate(text: str, rng: random.Random) -> str | None:
    denials = [(d, a) for d, a in _DENIALS if d in text and f"{a}{d}" not in text]
    if denials:
        d, a = rng.choice(denials)
        return _replace_nth(text, d, a, rng)
    spots = [m for m in _NEGATABLE.finditer(text) if m.start() == 0 or text[m.start() - 1] not in "不没无非未"]
    if not spots:
        return None
    m = rng.choice(spots)
    return text[: m.start()] + "不" + text[m.start() :]


def change_number(text: str, rng: random.Random) -> str | None:
    complexities = [(a, b) for a, b in _COMPLEXITY if a in text]
    if complexities and rng.random() < 0.6:
        a, b = rng.choice(complexities)
        return text.replace(a, b, 1)
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = float(m.group(1))
    if value == 0:
        new = "1"
    else:
        factor = rng.choice((2, 4, 10, 0.5, 0.1))
        changed = value * factor
        new = str(int(changed)) if changed == int(changed) else f"{changed:g}"
        if new == m.group(1):
            new = str(int(value) + 1)
    return text[: m.start()] + new + text[m.end() :]


def swap_order(text: str, rng: random.Random) -> str | None:
    for pattern in _ORDER:
        m = pattern.search(text)
        if m and m.group(1).strip() != m.group(3).strip():
            word = "再" if "再" in m.group(0) else "后"
            return text[: m.start()] + f"先{m.group(3)}{m.group(2)}{word}{m.group(1)}" + text[m.end() :]
    m = _ARROW.search(text)
    if m and m.group(1) != m.group(3):
        return text[: m.start()] + f"{m.group(3)} {m.group(2)} {m.group(1)}" + text[m.end() :]
    return None


PERTURBATIONS: dict[str, Callable[[str, random.Random], str | None]] = {
    "swap-names": swap_names,
    "swap-roles": swap_roles,
    "flip": flip,
    "negate": negate,
    "number": change_number,
    "order": swap_order,
}


def _exchange(text: str, a: str, b: str) -> str:
    marker = "\x00"
    return text.replace(a, marker).replace(b, a).replace(marker, b)


def _replace_nth(text: str, old: str, new: str, rng: random.Random) -> str:
    starts = [m.start() for m in re.finditer(re.escape(old), text)]
    at = rng.choice(starts)
    return text[:at] + new + text[at + len(old) :]


# Paraphrases that keep the claim. Without near-verbatim ones the verifier learned "nearly the same
# words, one word changed" as a contradiction whatever the word: it read 「PyTorch 的 F.cross_entropy 就是把
# log_softmax 和 NLL 融合在一起的」 against the reference's own sentence at 0.98. Reworded statements are
# trained as supports, and the same rewordings with a perturbation on top as contradictions, so what
# decides is which word changed, not that one did.
# Words a candidate says for the same thing: exchanging two of a group keeps the claim. Only words of
# two or more characters are replaced (a single character is part of too many other words).
SAME = [
    ("使用", "用", "采用", "利用"), ("训练出", "训出", "训练得到"), ("提升", "提高", "改善"), ("只有", "仅有", "只"),
    ("仅仅", "只"), ("就是", "即", "也就是"), ("因此", "所以", "于是"), ("但是", "不过", "然而", "但"),
    ("非常", "很", "特别"), ("需要", "要", "得"), ("能够", "可以", "能"), ("如果", "若", "假如", "要是"),
    ("包括", "包含"), ("保证", "确保"), ("大幅", "大大", "显著"), ("明显", "显著"), ("相同", "一样"),
    ("每个", "每一个"), ("存储", "保存", "存"), ("减少", "降低", "减小"), ("增加", "增大"), ("方法", "做法", "办法"),
    ("通常", "一般", "往往"), ("并且", "而且", "同时"), ("例如", "比如"), ("大约", "大概", "约"), ("导致", "造成"),
    ("由于", "因为"), ("以及", "和"), ("可能", "也许", "或许"), ("称为", "叫做", "叫"), ("表示", "代表"),
    ("得到", "获得", "拿到"), ("每次", "每一次"), ("更加", "更"), ("不同", "不一样"), ("等价", "等同"),
    ("本身", "自身"), ("区别", "差别", "差异"), ("优点", "好处", "优势"), ("缺点", "坏处", "劣势", "不足"),
    ("计算量", "计算开销", "算力开销"), ("显存", "GPU 内存", "显存占用"), ("注意力", "attention"), ("梯度", "gradient"),
    ("参数", "权重"), ("推理", "inference"), ("损失", "loss"), ("缓存", "cache"), ("量化", "quantization"),
    ("微调", "fine-tune", "finetune"), ("嵌入", "embedding"), ("向量", "vector"), ("复杂度", "开销"),
    ("模型", "model"), ("稳定", "平稳"), ("直接", "直接就"), ("主要", "主要是", "大体上"), ("所有", "全部"),
    ("之间", "间"), ("上涨", "提升"), ("融合", "合并", "fuse"), ("根据", "依据", "按照"), ("目的", "目标"),
]  # fmt: skip
_NO_TOUCH = re.compile(r"[不没无非未别]")
# Clause starts a candidate says without adding a claim.
OPENERS = ("其实", "简单说", "我理解", "一般来说", "说白了", "本质上", "就是说", "嗯", "我记得")
_ORDERED = re.compile(
    r"先|再|然后|之后|之前|以后|以前|所以|因此|因为|由于|于是|导致|则|才|接着|最后|首先|其次|第[一二三]|[①②③1-9][)）.、]"
)


def _swap_word(text: str, rng: random.Random) -> str | None:
    options = []
    for group in SAME:
        for w in group:
            if len(w) >= 2 and w in text:
                options += [(w, o) for o in group if o != w and o not in text]
    if not options:
        return None
    w, o = rng.choice(options)
    at = [m.start() for m in re.finditer(re.escape(w), text)]
    i = rng.choice(at)
    # 「不需要」 is not 「不得」: a word right after a negation stays.
    if i > 0 and _NO_TOUCH.match(text[i - 1]):
        return None
    return text[:i] + o + text[i + len(w) :]


def _drop_aside(text: str, rng: random.Random) -> str | None:
    asides = [m for m in re.finditer(r"[（(][^（）()]{1,40}[）)]", text) if not _NO_TOUCH.search(m.group(0))]
    if not asides:
        return None
    m = rng.choice(asides)
    out = (text[: m.start()] + text[m.end() :]).strip()
    return out if len(out) >= 6 else None


def _spacing(text: str, rng: random.Random) -> str | None:
    if rng.random() < 0.5:
        out = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[A-Za-z0-9])|(?<=[A-Za-z0-9]) (?=[\u4e00-\u9fff])", "", text)
    else:
        out = re.sub(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u4e00-\u9fff])", " ", text)
    out = out.replace("：", ":").replace("，", ",") if rng.random() < 0.2 else out
    return out if out != text else None


def _case(text: str, rng: random.Random) -> str | None:
    names = [m for m in re.finditer(r"[A-Za-z][A-Za-z0-9_\-]*[A-Za-z]", text) if m.group(0) != m.group(0).lower()]
    if not names:
        return None
    m = rng.choice(names)
    return text[: m.start()] + m.group(0).lower() + text[m.end() :]


def _particle(text: str, rng: random.Random) -> str | None:
    spots = [
        m.start()
        for m in re.finditer(r"(?<=[\u4e00-\u9fffA-Za-z0-9 ])是", text)
        if text[m.start() - 1] not in "不就只还但于总若要或即也凡都"
    ]
    if spots and rng.random() < 0.5:
        i = rng.choice(spots)
        return text[:i] + "就" + text[i:]
    spots = [m.start() for m in re.finditer("了(?!解)", text) if m.start() > 0]
    if spots:
        i = rng.choice(spots)
        return text[:i] + text[i + 1 :]
    return None


def _opener(text: str, rng: random.Random) -> str:
    return rng.choice(OPENERS) + ("，" if rng.random() < 0.5 else "") + text


def _reorder(text: str, rng: random.Random) -> str | None:
    parts = [p for p in re.split(r"[，,]", text) if p.strip()]
    if len(parts) != 2 or _ORDERED.search(text) or min(len(p) for p in parts) < 4:
        return None
    return f"{parts[1].strip()}，{parts[0].strip()}"


# A word exchange is the commonest rewording: three chances in nine.
EDITS: list[Callable[[str, random.Random], str | None]] = [
    _swap_word, _swap_word, _swap_word, _drop_aside, _spacing, _case, _particle, _opener, _reorder,
]  # fmt: skip


def reword(text: str, rng: random.Random) -> str | None:
    """The statement as a candidate might say it, with the same claim: 1-3 edits that change wording,
    not meaning (another word of the same sense, an aside dropped, spacing, case, a particle, a spoken
    opening, two unordered clauses exchanged); None where none applies."""
    out, wanted = text, rng.randint(1, 3)
    for _ in range(8):
        changed = rng.choice(EDITS)(out, rng)
        if changed:
            out, wanted = changed, wanted - 1
        if not wanted:
            break
    return out if out != text else None


# ---------------------------------------------------------------------------------------------


def statements(q: Question) -> list[tuple[str, str]]:
    """(text, kind) of the question's correct statements: rubric points and reference sentences."""
    points = [(c.description, "point") for c in q.rubric.criteria]
    sentences = [(u, "reference") for u in reference_units(q)]
    return list(dict.fromkeys(points + sentences))


def anchor_units(q: Question, min_score: int) -> list[str]:
    units: list[str] = []
    for a in q.rubric.anchors:
        if a.score >= min_score:
            units += [u for u in split_units(a.answer) if _is_statement(u)]
    return list(dict.fromkeys(units))


def _is_statement(unit: str) -> bool:
    """Prose, not a fragment of code or a formula."""
    return len(re.findall(r"[\u4e00-\u9fff]", unit)) >= 4 or len(re.findall(r"[A-Za-z]{2,}", unit)) >= 4


def _numbers_agree(premise: str, hypothesis: str) -> bool:
    """A unit with a number the statement does not have is about another case (「2Φ+14Φ/N」 vs 「4Φ+12Φ/N」)."""
    return set(re.findall(r"\d+(?:\.\d+)?", hypothesis)) <= set(re.findall(r"\d+(?:\.\d+)?", premise))


def pair(premise: str, hypothesis: str, label: str, q: Question, kind: str) -> dict[str, str]:
    return {"premise": premise, "hypothesis": hypothesis, "label": label, "question_id": q.id, "kind": kind}


def _clauses(sentence: str) -> list[str]:
    return [u for u in split_units(sentence) if u != sentence]


def question_pairs(
    q: Question, vec: Callable[[str], np.ndarray], others: list[str], other_vecs: np.ndarray, rng: random.Random
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    stmts = statements(q)
    texts = [t for t, _ in stmts]
    svecs = np.stack([vec(t) for t in texts])
    sentences = [t for t, k in stmts if k == "reference" and not any(t in s and t != s for s in texts)]
    points = [t for t, k in stmts if k == "point"]

    # supports: the reference sentence closest to each rubric point states it.
    for p in points:
        sims = np.array([vec(s) @ vec(p) for s in sentences]) if sentences else np.zeros(0)
        if len(sims) and sims.max() >= SUPPORT_COSINE:
            out.append(pair(p, sentences[int(sims.argmax())], "supports", q, "point-by-reference"))
    # supports: saying part of a sentence; a paraphrase of it.
    for s in sentences:
        for c in _clauses(s)[:2]:
            out.append(pair(s, c, "supports", q, "clause"))
    # supports: statements reworded; contradicts: the same rewordings perturbed.
    for text in [*sentences, *points]:
        for _ in range(2):
            para = reword(text, rng)
            if para:
                out.append(pair(text, para, "supports", q, "reword"))
        base = reword(text, rng)
        if base:
            names = list(PERTURBATIONS)
            rng.shuffle(names)
            for name in names:
                changed = PERTURBATIONS[name](base, rng)
                if changed and changed != base:
                    out.append(pair(text, changed, "contradicts", q, f"reword-{name}"))
                    break
    # supports / neither: units of well-graded anchors, by where they rank among the statements.
    good_units = anchor_units(q, WELL_GRADED)
    for u in good_units:
        sims = svecs @ vec(u)
        order = np.argsort(-sims)
        if sims[order[0]] >= SUPPORT_COSINE and _numbers_agree(texts[order[0]], u):
            out.append(pair(texts[order[0]], u, "supports", q, "anchor-unit"))
            para = reword(u, rng)
            if para:
                out.append(pair(texts[order[0]], para, "supports", q, "anchor-paraphrase"))
        if len(order) > NEITHER_RANK + 1 and sims[order[-1]] < sims[order[0]] - 0.08:
            far = order[rng.randint(NEITHER_RANK + 1, len(order) - 1)]
            if sims[far] < sims[order[0]] - 0.08:
                out.append(pair(texts[far], u, "neither", q, "other-point"))
    # supports / neither: every true text of the question (its reference units and well-graded
    # anchor units) against the rubric points closest to it. Two true statements of one question never
    # contradict; without these pairs the model read 「和训练相比，推理没有梯度和优化器状态。」 as
    # contradicting 「指出推理没有梯度和优化器状态…」 (the same claim, said with more words).
    point_vecs = np.stack([vec(p) for p in points])
    for u in dict.fromkeys([*reference_units(q), *good_units]):
        sims = point_vecs @ vec(u)
        for rank, c in enumerate(np.argsort(-sims)[:TRUE_PAIR_POINTS]):
            states = rank == 0 and sims[c] >= SUPPORT_COSINE and _numbers_agree(points[int(c)], u)
            out.append(pair(points[int(c)], u, "supports" if states else "neither", q, "true-pair"))
    # contradicts: each common error against the point and the sentence it negates.
    for e in q.rubric.common_errors:
        claim = error_claim(e)
        ev = vec(claim)
        p_sims = np.array([vec(p) @ ev for p in points])
        out.append(pair(points[int(p_sims.argmax())], claim, "contradicts", q, "common-error"))
        if sentences:
            s_sims = np.array([vec(s) @ ev for s in sentences])
            out.append(pair(sentences[int(s_sims.argmax())], claim, "contradicts", q, "common-error"))
    # contradicts: rule perturbations of statements (whole, or one clause of a sentence).
    for text in [*sentences, *points]:
        names = list(PERTURBATIONS)
        rng.shuffle(names)
        made = 0
        for name in names:
            target = text
            clauses = _clauses(text)
            if clauses and rng.random() < 0.35:
                target = rng.choice(clauses)
            changed = PERTURBATIONS[name](target, rng)
            if changed and changed != target:
                out.append(pair(text, changed, "contradicts", q, f"perturb-{name}"))
                made += 1
            if made == 2:
                break
    # contradicts: perturbed anchor units, where the changed words are in the statement too.
    for u in good_units:
        sims = svecs @ vec(u)
        best = int(np.argmax(sims))
        if sims[best] < SUPPORT_COSINE:
            continue
        for name in ("flip", "negate", "swap-names", "number"):
            changed = PERTURBATIONS[name](u, rng)
            if changed and _shared_change(u, changed, texts[best]):
                out.append(pair(texts[best], changed, "contradicts", q, f"anchor-{name}"))
                break
    # neither: units of other questions (nearest ones and random ones).
    if len(others):
        for s in rng.sample(texts, k=min(4, len(texts))):
            sims = other_vecs @ vec(s)
            near = np.argsort(-sims)[:30]
            out.append(pair(s, others[int(rng.choice(near))], "neither", q, "other-question-near"))
            out.append(pair(s, others[rng.randrange(len(others))], "neither", q, "other-question"))
    return out


# How a candidate says a sentence they agree with: spoken openings, the same words without the
# reference's punctuation and spacing.
_SPOKEN = ("我理解是", "简单说，", "其实", "我觉得", "就是说", "嗯，", "印象中", "我的理解：", "说白了", "本质上")


def echo_pairs(q: Question, rng: random.Random) -> list[dict[str, str]]:
    """supports: a statement against itself, said in a candidate's voice, and a clause against its
    whole sentence (the sentence says the clause). Trained on after the main pairs: without them a
    model that learned "nearly the same words, one word changed" reads "the same words" as the most
    contradicting pair of all."""
    out: list[dict[str, str]] = []
    for text, _ in statements(q):
        out.append(pair(text, text, "supports", q, "identity"))
        spoken = rng.choice(_SPOKEN) + text.rstrip("。；;，,")
        if rng.random() < 0.5:
            spoken = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[A-Za-z0-9])|(?<=[A-Za-z0-9]) (?=[\u4e00-\u9fff])", "", spoken)
        out.append(pair(text, spoken, "supports", q, "echo"))
        for clause in _clauses(text)[:1]:
            out.append(pair(clause, text, "supports", q, "sentence-of-clause"))
    return out


def _shared_change(before: str, after: str, premise: str) -> bool:
    """The words the perturbation removed occur in the premise: the change is about what it says."""
    removed = {w for w in re.findall(r"[\u4e00-\u9fff]{2,}|[A-Za-z0-9.]+", before)} - set(
        re.findall(r"[\u4e00-\u9fff]{2,}|[A-Za-z0-9.]+", after)
    )
    if not removed:  # an inserted 不: the negated word must be in the premise
        return any(w in premise for w in re.findall(r"不([\u4e00-\u9fff]{1,2})", after))
    return any(w in premise or any(w[i : i + 2] in premise for i in range(len(w) - 1)) for w in removed)


WRITTEN_DIR = ROOT / "scripts" / "verifier_data"


def load_written(folder: Path = WRITTEN_DIR) -> dict[str, list[dict[str, str]]]:
    """Question id -> the candidate-style sentences written for its rubric points (scripts/verifier_data/):
    per point, true ones stating it (supports), fluent wrong ones about it (contradicts) and true ones
    on the topic that do neither. Written only for training questions."""
    by_question: dict[str, list[dict[str, str]]] = {}
    for path in sorted(folder.glob("written-*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("label") not in LABELS or not str(row.get("text", "")).strip():
                raise SystemExit(f"{path}:{n}: needs a label among {LABELS} and a text")
            by_question.setdefault(row["question_id"], []).append(row)
    return by_question


def written_pairs(q: Question, rows: list[dict[str, str]], vec: Callable[[str], np.ndarray]) -> list[dict[str, str]]:
    """Pairs from sentences in candidates' own words, against the statements the judge checks them
    against: their own rubric point and the reference sentence stating it (the written label), and the
    question's other statements closest to them (a true sentence contradicts no correct statement:
    neither; a wrong one may or may not, so it is left out there)."""
    out: list[dict[str, str]] = []
    criteria = {c.id: c.description for c in q.rubric.criteria}
    stmts = [t for t, _ in statements(q)]
    svecs = np.stack([vec(t) for t in stmts])
    sentences = [t for t, k in statements(q) if k == "reference"]
    for row in rows:
        point = criteria.get(row["criterion_id"])
        if point is None:
            raise SystemExit(f"written pair for {q.id}: no criterion {row['criterion_id']!r}")
        text, label = row["text"], row["label"]
        out.append(pair(point, text, label, q, f"written-{label}"))
        own = {point}
        if sentences:
            sims = np.array([vec(s) @ vec(point) for s in sentences])
            if sims.max() >= SUPPORT_COSINE:
                stating = sentences[int(sims.argmax())]
                out.append(pair(stating, text, label, q, f"written-sentence-{label}"))
                own.add(stating)
        if label == "contradicts":
            continue
        for s in np.argsort(-(svecs @ vec(text)))[:CHECKED_STATEMENTS]:
            if stmts[s] not in own:
                out.append(pair(stmts[s], text, "neither", q, "written-true-vs-other"))
    return out


def build(seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    os.environ.setdefault("EVALUATOR_HOME", str(Path(tempfile.gettempdir()) / "verifier-pairs-home"))
    from evaluator import Evaluator

    ev = Evaluator(judge="offline")
    questions = sorted(ev.bank, key=lambda q: q.id)
    written = load_written()
    if unknown := sorted(set(written) - {q.id for q in questions}):
        raise SystemExit(f"written pairs for questions not in the bank: {unknown[:5]}")
    if leaked := sorted(qid for qid in written if is_heldout(qid)):
        raise SystemExit(f"written pairs for held-out questions (never trained on): {leaked[:5]}")
    texts: list[str] = []
    for q in questions:
        texts += [t for t, _ in statements(q)] + [error_claim(e) for e in q.rubric.common_errors]
        texts += anchor_units(q, 60) + reference_units(q)
        texts += [r["text"] for r in written.get(q.id, [])]
    vectors = embed_with_stores(list(dict.fromkeys(texts)), ev.embedder, ev.home)
    vec = vectors.__getitem__
    train: list[dict[str, str]] = []
    heldout: list[dict[str, str]] = []
    echo: list[dict[str, str]] = []
    for q in questions:
        rng = random.Random(f"{seed}:{q.id}")
        # Other questions' units: reference sentences and good anchors of questions on the same side
        # of the split (a held-out question's text never enters training).
        side = is_heldout(q.id)
        others = [u for o in questions if o.id != q.id and is_heldout(o.id) == side for u in _units_of(o)]
        other_vecs = np.stack([vec(u) for u in others])
        (heldout if side else train).extend(question_pairs(q, vec, others, other_vecs, rng))
        if not side:
            train.extend(written_pairs(q, written.get(q.id, []), vec))
        if not side:
            echo.extend(echo_pairs(q, random.Random(f"{seed}:{q.id}:echo")))
    random.Random(seed).shuffle(train)
    random.Random(seed).shuffle(echo)
    return train, heldout, echo


def _units_of(q: Question) -> Iterable[str]:
    yield from reference_units(q)[:6]
    yield from anchor_units(q, WELL_GRADED)[:4]


def data_hash(rows: list[dict[str, str]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(r, ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


def write(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "verifier")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    train, heldout, echo = build(args.seed)
    write(args.out / "train.jsonl", train)
    write(args.out / "heldout.jsonl", heldout)
    write(args.out / "echo.jsonl", echo)
    for name, rows in (("train", train), ("heldout", heldout), ("echo (second stage)", echo)):
        qids = {r["question_id"] for r in rows}
        labels = Counter(r["label"] for r in rows)
        print(f"{name}: {len(rows)} pairs over {len(qids)} questions; {dict(labels)}; sha256 {data_hash(rows)[:16]}")
    kinds = Counter(r["kind"] for r in train)
    print("train kinds:", dict(sorted(kinds.items())))


if __name__ == "__main__":
    main()
