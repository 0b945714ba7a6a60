"""``FineTunedStance``: a chat model (base or LoRA-tuned) used as a :class:`agent.stance.base.StanceClassifier`.

It talks to any OpenAI-compatible server: the embedded llama.cpp server (base GGUF plus the
adapter GGUF) or vLLM, where a LoRA adapter is selected by its ``--lora-modules`` name as the
model. The answer is constrained to the label set with ``response_format`` (JSON schema), which
both servers honour, so every reply parses; the probabilities come from the server's top
log-probabilities at the label's first token where it returns them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from agent.finetune.prompts import STANCE_LABELS, STANCE_SCHEMA, parse_stance_answer, stance_messages
from agent.stance.base import Stance, StanceResult
from ingest.core.errors import ConfigError

__all__ = ["FineTunedStance"]


class FineTunedStance:
    """Label texts by prompting a chat model with the fine-tuning prompt and reading the constrained answer."""

    reads_titles = True  # classify() takes the title of the proposal each text is about

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "not-needed",
        proposal_title: str = "",
        timeout_s: float = 120.0,
        extra_body: dict[str, Any] | None = None,
        model_id: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.proposal_title = proposal_title
        self.timeout_s = timeout_s
        self.extra_body = dict(extra_body or {})
        self._model_id = model_id

    def _client(self) -> Any:
        try:
            from openai import OpenAI
        except ImportError as exc:  # pragma: no cover
            raise ConfigError("FineTunedStance needs the openai client: pip install openai.") from exc
        return OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_s, max_retries=2)

    @property
    def model_id(self) -> str:
        """What results name this classifier by: given (e.g. with the weights' hashes), else the served model's name."""
        return self._model_id or f"chat:{self.model}"

    def classify(self, texts: Sequence[str], *, proposal_titles: Sequence[str] | None = None) -> list[StanceResult]:
        """One result per text; ``proposal_titles`` (same length) names the proposal each text is about."""
        client = self._client()
        titles = list(proposal_titles) if proposal_titles is not None else [self.proposal_title] * len(texts)
        results = []
        for text, title in zip(texts, titles, strict=True):
            response = client.chat.completions.create(
                model=self.model,
                messages=stance_messages(text, proposal_title=title),
                temperature=0.0,
                max_tokens=64,
                response_format={"type": "json_schema", "json_schema": {"name": "stance", "schema": STANCE_SCHEMA}},
                logprobs=True,
                top_logprobs=10,
                extra_body=self.extra_body or None,
            )
            choice = response.choices[0]
            label = parse_stance_answer(choice.message.content or "")
            if label is None:
                raise ConfigError(f"Model {self.model!r} at {self.base_url} ignored the response format (answered {choice.message.content!r}).")
            probs = _label_probabilities(choice, label)
            results.append(StanceResult(Stance(label), probs[Stance(label)], probs, model=self.model))
        return results


def _label_probabilities(choice: Any, label: str) -> dict[Stance, float]:
    """Probabilities over the labels at the label's first token, from top log-probs; all mass on ``label`` when absent."""
    content = getattr(getattr(choice, "logprobs", None), "content", None) or []
    text = ""
    for token in content:
        if text.replace(" ", "").endswith('"stance":"'):
            mass: dict[str, float] = {}
            for alt in token.top_logprobs or []:
                piece = alt.token.strip().lower()
                for name in STANCE_LABELS:
                    if piece and name.startswith(piece):
                        mass[name] = mass.get(name, 0.0) + math.exp(alt.logprob)
                        break
            if label in mass:
                total = sum(mass.values())
                return {Stance(n): mass.get(n, 0.0) / total for n in STANCE_LABELS}
            break
        text += token.token
    return {Stance(n): (1.0 if n == label else 0.0) for n in STANCE_LABELS}
