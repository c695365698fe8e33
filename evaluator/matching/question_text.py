"""What a user typed, reduced to what decides a match: normalized text and named terms.

Users type the same question many ways: 「PreNorm 和 PostNorm 的区别」, 「pre-norm vs post-norm？」,
「ＫＶ ｃａｃｈｅ是什么」. Matching sees only the normalized form, so punctuation, full/half-width
characters, case and spacing can never change the outcome, and it compares named terms (Latin-script
acronyms and names, with their spelling variants joined) so that DPO is never taken for DQN.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# Punctuation and symbols carry no meaning for which question was asked.
_PUNCT = re.compile(r"[^\w\s\u3400-\u9fff+#]+")
_SPACE = re.compile(r"\s+")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff]) | (?=[\u3400-\u9fff])")
# Interview talk around the question: 「下一个，」「最后一个问题：」「好，那你说一下」.
_FILLER = re.compile(
    r"^(?:(?:好的?|嗯|那么?|接下来|然后|下面|下一个(?:问题)?|最后一个(?:问题)?|最后|再问一个|"
    r"第[一二三四五六七八九十\d]+个?(?:问题)?|我们(?:来|再)?|"
    r"(?:ok|okay|so|now|then|next|last|final)(?: one| question)?(?![a-z0-9]))\s*)+"
)
# Latin words written next to each other (only spaces between): 「pre norm」 may be 「prenorm」.
_LATIN_RUN = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
# Words that name no concept: a term must be something only some questions are about.
_STOPWORDS_TEXT = (
    "a an the of in on at to for from by with and or vs versus is are was were be do does did how what "
    "why when which who whom whose can could should would will shall may might must you your we our i me "
    "my it its this that these those there their they them explain describe tell talk about between "
    "difference differences different compare comparison versus principle principles work works working "
    "use used using please briefly give some any more most much many than then so if whether like such "
    "as main key "
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
# One concept, several spellings: folded to the first form before terms are compared.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "moe": ("mixture of experts", "mixture of expert", "混合专家"),
    "rag": ("retrieval augmented generation", "retrieval-augmented generation", "检索增强生成", "检索增强"),
    "kvcache": ("kv cache", "key value cache", "key-value cache"),
    "attention": ("attn",),
    "rlhf": ("reinforcement learning from human feedback", "基于人类反馈的强化学习"),
    "sft": ("supervised fine tuning", "supervised finetuning", "监督微调"),
    "rope": ("rotary position embedding", "rotary positional embedding", "rotary embedding", "旋转位置编码"),
    "icl": ("in context learning", "上下文学习"),
    "cot": ("chain of thought", "思维链"),
    "llm": ("large language model", "large language models", "大语言模型", "大模型"),
    "mha": ("multi head attention", "multihead attention", "多头注意力"),
    "mqa": ("multi query attention", "多查询注意力"),
    "gqa": ("grouped query attention", "分组查询注意力"),
    "mla": ("multi head latent attention",),
    "ppo": ("proximal policy optimization",),
    "dpo": ("direct preference optimization",),
    "gae": ("generalized advantage estimation", "广义优势估计"),
    "bpe": ("byte pair encoding", "字节对编码"),
    "kd": ("knowledge distillation",),
    "ddp": ("distributed data parallel",),
    "fsdp": ("fully sharded data parallel",),
    "peft": ("parameter efficient fine tuning", "parameter-efficient fine-tuning", "参数高效微调"),
    "ttft": ("time to first token", "首 token 延时", "首token延迟", "首 token 延迟"),
}
_SYNONYM_PATTERNS = [
    (re.compile(r"(?<![a-z0-9])" + re.escape(form) + r"(?![a-z0-9])"), canon)
    for canon, forms in SYNONYMS.items()
    for form in sorted(forms, key=len, reverse=True)
]


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, no punctuation, single spaces, none around Chinese."""
    text = unicodedata.normalize("NFKC", text).lower().replace("_", " ")
    text = _PUNCT.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    return _CJK_SPACE.sub("", text)


def focus(text: str) -> str:
    """The normalized question without the interview talk before it (「下一个，LoRA 的原理」 -> 「lora的原理」)."""
    norm = normalize(text)
    stripped = _FILLER.sub("", norm).strip()
    return stripped or norm


def _fold(norm: str) -> str:
    for pattern, canon in _SYNONYM_PATTERNS:
        norm = pattern.sub(f" {canon} ", norm)
    return norm


def terms(text: str) -> frozenset[str]:
    """Latin-script words of a text plus each adjacent pair written as one (pre norm -> prenorm), so
    「PreNorm」「Pre-Norm」「pre norm」 share the term 「prenorm」; synonyms fold to one spelling."""
    found: set[str] = set()
    for run in _LATIN_RUN.findall(_fold(normalize(text))):
        words = run.split()
        found |= {w for w in words if w not in _STOPWORDS and len(w) > 1 and not w.isdigit()}
        # A number names something only with the word before it: 「LeetCode 53」 is not 「LeetCode 152」.
        found |= {
            a + b
            for a, b in itertools.pairwise(words)
            if a not in _STOPWORDS and b not in _STOPWORDS and not a.isdigit()
        }
    return frozenset(found)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#-]*")


def named_terms(text: str) -> frozenset[str]:
    """Terms written like names in the original text: with a capital after the first letter or a digit
    (LoRA, DPO, GPT-3, vLLM, FP16, ZeRO), in their folded, lower-case form."""
    raw = unicodedata.normalize("NFKC", text)
    names = [w for w in _NAME.findall(raw) if any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w)]
    return frozenset(t for w in names for t in terms(w))


# Interview turns that ask nothing technical: greetings, introductions, the closing 「你有什么想问我的吗」.
_SMALL_TALK = re.compile(
    r"(你好|您好|早上好|下午好|欢迎|自我介绍|介绍一下(你|您)自己|(你|您)有什么(想|要)?问(我|我们)的|有什么问题(想|要)?问|"
    r"(还有)?(什么|其他)问题吗|谢谢|感谢|辛苦了|今天就到这|面试(就)?到这|结束了|期望薪资|薪资|到岗|为什么(想)?离职|"
    r"休息一下|听得到吗|能听到吗|"
    r"\b(hello|hi|hey|good (morning|afternoon)|welcome|introduce yourself|tell me about yourself|"
    r"(any|have) questions for (me|us)|thank(s| you)|that'?s all|we'?re done|salary|notice period)\b)",
    re.I,
)


def is_small_talk(text: str) -> bool:
    """A turn that is not a technical question: small talk, and little else in it (no technical term)."""
    raw = unicodedata.normalize("NFKC", text)
    if not _SMALL_TALK.search(raw) or named_terms(raw):
        return False
    rest = focus(_SMALL_TALK.sub(" ", raw))
    cjk = sum("\u3400" <= ch <= "\u9fff" for ch in rest)
    words = [w for w in re.findall(r"[a-z]+", rest) if w not in _STOPWORDS]
    return cjk + 2 * len(words) <= SMALL_TALK_REST_MAX


# What may remain besides the small talk: 「先做个…吧」, "that is all from me".
SMALL_TALK_REST_MAX = 8
