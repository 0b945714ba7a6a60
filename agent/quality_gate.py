"""The one quality gate for model-written text, used by the report summary (:mod:`agent.report.digest`) and the
answer to a member's question (:mod:`agent.qa.answer`): long enough, short enough, not repetitive, not
instruction-like, not a refusal, and faithful: every quote occurs in a cited post, enough of its words are the
cited posts' (where the caller asks for it), and the caller's own claim check passed. Each caller picks its
:class:`GateLimits`; every check runs for both.

Also here: :func:`instruction_like`, which the report also uses to set aside posts that address a model."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["ANSWER_LIMITS", "REPORT_SUMMARY_LIMITS", "GateLimits", "GateResult", "instruction_like", "quality_gate"]

# Imperatives addressed to a model or its operator, role markers and prompt-format tokens. The text is folded
# (NFKC, lower case, markup and zero-width characters removed) before matching, so HTML comments, code fences,
# Markdown emphasis and full-width letters change nothing.
_PATTERNS = [
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instruction|instructions|prompt|prompts|guidelines|system message)\b",
    r"\b(ignore|disregard|forget)\s+(all|any|every)\s+(of\s+)?(the\s+)?(previous|prior|above|earlier)\b",
    r"\b(you are|you're) (now )?(a|an|the|my) ?\w* ?(assistant|model|ai|bot|gpt|llm)\b",
    r"(?:^|[.!?>\]:\-]\s*)(system|assistant|developer)\s*(prompt|message)?\s*:",
    r"<\|?\s*(im ?start|im ?end|system|endoftext)\s*\|?>",
    r"\byou (must|will|are to) (now )?(output|say|write|report|answer|reply|respond|state|print)\b",
    r"\[/?(inst|sys)\]",
    r"\b(report|say|state|write|output|respond|answer|summari[sz]e)\b.{0,30}\b(that )?(everyone|all (members|delegates|voters)|the community)\b.{0,20}\b(support|supports|agree|agrees|approve|approves|oppose|opposes)",
    r"\b(new|updated|real) instructions?\b",
    r"\b(as an ai|as a language model)\b",
    r"\bdo not (mention|reveal|tell)\b",
    # Spanish, German, French, Portuguese, Italian
    r"\b(ignora|olvida|descarta)\b.{0,40}\b(instrucciones|indicaciones|reglas)\b",
    r"\b(ignoriere|vergiss|missachte)\b.{0,40}\b(anweisungen|anweisung|regeln|vorgaben)\b",
    r"\b(ignore[sz]?|oublie[sz]?)\b.{0,40}\b(instructions|consignes|règles)\b",
    r"\b(ignore|esqueça|desconsidere)\b.{0,40}\b(instruções|regras)\b",
    r"\b(ignora|dimentica)\b.{0,40}\b(istruzioni|regole)\b",
    # Chinese, Japanese, Korean, Russian
    r"(忽略|无视|忽视|忘记|無視)[^。！？]{0,20}(指令|指示|提示|说明|規則|规则|命令)",
    r"(系统提示|系統提示|システムプロンプト)",
    r"(이전|모든)[^.]{0,10}(지시|명령)[^.]{0,10}(무시)",
    r"(игнорируй|забудь)[^.]{0,40}(инструкции|указания|правила)",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.DOTALL)
_FOLD = str.maketrans({"\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None, "\u00ad": None, "`": " ", "*": " ", "_": " ", "#": " "})


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    text = re.sub(r"<!--|-->|</?[a-z][^>]*>", " ", text)
    return " ".join(text.split())


def instruction_like(text: str) -> bool:
    """True when ``text`` addresses a model or its operator with instructions (any of the languages above)."""
    return bool(text) and _INSTRUCTION.search(_fold(text)) is not None


# Only in model output (a forum post may well say "you should vote"): echoes of the prompt's own format and
# directives to the reader.
_OUTPUT_MARKERS = re.compile(
    r"\bsystem prompt\b|</?(posts|structure)>|\banswer with json\b|\byou (must|should) (now )?(say|answer|reply|vote)\b",
    re.IGNORECASE,
)
_DECLINED = re.compile(r"\b(posts|they) do(es)? not (answer|say|mention|address)\b|\bno (information|answer)\b|\bi (cannot|can't|don't know)\b",
                       re.IGNORECASE)
_QUOTED = re.compile(r"[\"“]([^\"“”]*)[\"”]")
_CONTENT = re.compile(r"[a-z][a-z0-9'\-]{3,}")
_STOP = frozenset(
    ["that", "this", "with", "from", "have", "were", "they", "their", "there", "what", "which", "about", "would", "could", "should",
     "been", "into", "also", "than", "them", "then", "these", "those", "will", "your", "more", "most", "some", "such", "only", "other",
     "over", "very", "just", "when", "where", "while", "because", "does", "said", "says", "post", "posts"]
)


@dataclass(frozen=True)
class GateLimits:
    """What a caller's text must meet. ``min_grounded``: the share of its content words that must occur in the cited
    posts (None: the caller checks grounding itself and passes the verdict as ``unfaithful``)."""

    min_words: int = 0
    min_chars: int = 0
    max_chars: int = 1200
    min_grounded: float | None = None
    max_repeated_trigram_share: float = 0.25
    max_trigram_repeats: int = 2
    min_distinct_word_share: float = 0.4


#: The report summary a capable model words: at least 8 words, at most 1,200 characters; its claims are checked
#: against the report's structure by :mod:`agent.report.digest`.
REPORT_SUMMARY_LIMITS = GateLimits(min_words=8, max_chars=1200)
#: A model's answer to a member's question: 30 to 700 characters, 60% of its content words from the cited posts.
ANSWER_LIMITS = GateLimits(min_chars=30, max_chars=700, min_grounded=0.6)


@dataclass(frozen=True)
class GateResult:
    """``ok`` when no check failed; ``problems`` lists every failed check, ``reason`` joins them."""

    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str:
        return "; ".join(self.problems)


def _content_words(text: str) -> list[str]:
    return [w for w in _CONTENT.findall(text.lower()) if w not in _STOP]


def _repetitive(words: Sequence[str], limits: GateLimits) -> bool:
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    if not trigrams:
        return False
    repeated_share = 1 - len(set(trigrams)) / len(trigrams)
    return (repeated_share > limits.max_repeated_trigram_share or Counter(trigrams).most_common(1)[0][1] > limits.max_trigram_repeats
            or len(set(words)) < limits.min_distinct_word_share * len(words))


def quality_gate(text: str, limits: GateLimits, *, cited_texts: Sequence[str] | None = None, unfaithful: str = "") -> GateResult:
    """Every check ``text`` fails. ``cited_texts``: the posts the text cites (None: the caller does not cite posts
    here, e.g. the report summary checks its citations itself); ``unfaithful``: the caller's own faithfulness
    verdict (empty: faithful)."""
    from agent.report.faithfulness import occurs_in  # imported here: agent.report imports this module

    problems: list[str] = []
    stripped = " ".join(text.split())
    words = re.findall(r"\w+", stripped.lower())
    if len(words) < limits.min_words:
        problems.append(f"too short: {len(words)} words, at least {limits.min_words} needed")
    if len(stripped) < limits.min_chars:
        problems.append(f"too short: {len(stripped)} characters, at least {limits.min_chars} needed")
    if len(stripped) > limits.max_chars:
        problems.append(f"too long: {len(stripped)} characters, at most {limits.max_chars}")
    if _repetitive(words, limits):
        problems.append("repetitive: the same phrase recurs")
    if instruction_like(stripped) or _OUTPUT_MARKERS.search(stripped):
        problems.append("instruction-like text")
    if _DECLINED.search(stripped):
        problems.append("declines to answer")
    if cited_texts is not None:
        if not cited_texts:
            problems.append("cites no retrieved post")
        for quote in _QUOTED.findall(stripped):
            if any(c.isalnum() for c in quote) and not any(occurs_in(quote, t) for t in cited_texts):
                problems.append(f"quote not in the cited posts: {quote[:60]!r}")
        content = _content_words(stripped)
        if limits.min_grounded is not None and content and cited_texts:
            vocabulary = set(_content_words(" ".join(cited_texts)))
            grounded = sum(w in vocabulary for w in content) / len(content)
            if grounded < limits.min_grounded:
                problems.append(f"not grounded in the cited posts ({grounded:.0%} of its words are theirs)")
    if unfaithful:
        problems.append(f"unfaithful: {unfaithful}")
    return GateResult(tuple(problems))
