"""Text that must never steer a report: instruction-like sentences (in several languages and disguises), and the
one quality gate every model-written text passes before it is shown (length, repetition, instructions, faithfulness)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

__all__ = ["GateResult", "instruction_like", "quality_gate"]

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


@dataclass(frozen=True)
class GateResult:
    ok: bool
    reason: str = ""


def quality_gate(text: str, *, min_words: int = 8, max_chars: int = 1200, faithful: bool = True, unfaithful_reason: str = "") -> GateResult:
    """The one gate for model-written text: long enough, short enough, not repetitive, not instruction-like, and
    faithful (the caller checks citations and claims and passes the verdict)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < min_words:
        return GateResult(False, f"too short: {len(words)} words, at least {min_words} needed")
    if len(text) > max_chars:
        return GateResult(False, f"too long: {len(text)} characters, at most {max_chars}")
    trigrams = Counter(zip(words, words[1:], words[2:], strict=False))
    if trigrams and trigrams.most_common(1)[0][1] >= 3 or len(set(words)) < 0.4 * len(words):
        return GateResult(False, "repetitive: the same phrase recurs")
    if instruction_like(text):
        return GateResult(False, "instruction-like text")
    if not faithful:
        return GateResult(False, f"unfaithful: {unfaithful_reason}")
    return GateResult(True)
