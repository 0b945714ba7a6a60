"""Who writes a draft's prose sections, chosen once from settings (``[draft]``) for every face.

``draft.writer``:

* ``auto`` (default): the tuned drafter when ``draft.tuned_model`` is set; else the configured chat model when
  ``llm.base_url`` names a running server (vLLM or ``concord llm serve``: a model someone chose to serve); else no
  model. The embedded SmolLM2 is not started for drafts on its own: it is slow to start and its prose rarely passes
  the gate.
* ``chat``: the configured chat model, starting the embedded server for the draft when no URL is set.
* ``tuned``: the drafter from ``concord finetune train --task draft`` (``draft.tuned_model``).
* ``composed``: deterministic composition only.

Whatever writes, :func:`governance.draft_compose.compose_sections` gates each section and composes any that fail;
a writer that cannot be opened makes every prose section say why in ``written_by``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ingest.core.errors import ConcordError, ConfigError

if TYPE_CHECKING:
    from governance.service import GovernanceService
    from governance.views import DraftView
    from ingest.core.settings import ConcordSettings

__all__ = ["BodyWriter", "DraftWriters", "DraftingService", "UnavailableWriter", "choose_writer", "open_draft_writers"]


class BodyWriter(Protocol):
    """Writes a whole draft body in the given headings at once (the tuned drafter)."""

    model: str

    def write_body(self, *, dao_name: str, title: str, headings: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class DraftWriters:
    """What one draft is written with: a chat model (per section), a body writer (whole body), or neither."""

    chat: Any = None
    body: BodyWriter | None = None


class UnavailableWriter:
    """A chat backend that could not be opened: every call fails with the reason, so each prose section is composed
    and says why."""

    def __init__(self, model: str, reason: str) -> None:
        self.model, self.reason = model, reason

    def complete(self, messages: Any, *, max_tokens: int = 256, schema: Any = None) -> str:
        from agent.llm import LLMError

        raise LLMError(self.reason)


def choose_writer(settings: ConcordSettings) -> str:
    """``chat``, ``tuned`` or ``composed``: what ``draft.writer`` means with these settings."""
    writer = settings.draft.writer
    if writer != "auto":
        return writer
    if settings.draft.tuned_model:
        return "tuned"
    return "chat" if settings.llm.base_url else "composed"


def _tuned_drafter(settings: ConcordSettings) -> BodyWriter:
    from agent.finetune.drafter import TunedDrafter
    from agent.finetune.registry import get_model

    name = settings.draft.tuned_model
    if not name:
        raise ConfigError("draft.writer = 'tuned' needs draft.tuned_model: set CONCORD_DRAFT__TUNED_MODEL to a name "
                          "trained by `concord finetune train --task draft --dao DAO --name NAME`.")
    model = get_model(settings, name)
    if model.config.get("task") != "draft":
        raise ConfigError(f"The tuned model {name!r} was not trained for drafting (task {model.config.get('task', 'stance')!r}); "
                          "train one with `concord finetune train --task draft`.")
    return TunedDrafter(name=name, adapter_dir=Path(model.adapter_dir), base=model.base,
                        max_new_tokens=settings.draft.max_new_tokens)


@contextmanager
def open_draft_writers(settings: ConcordSettings, *, tuned: BodyWriter | None = None) -> Iterator[DraftWriters]:
    """The writers for one draft (``tuned``: an already loaded tuned drafter to reuse)."""
    kind = choose_writer(settings)
    if kind == "composed":
        yield DraftWriters()
        return
    if kind == "tuned":
        yield DraftWriters(body=tuned or _tuned_drafter(settings))
        return
    from agent.llm import open_chat_backend

    with ExitStack() as stack:
        try:
            chat: Any = stack.enter_context(open_chat_backend(settings.llm))
        except ConcordError as exc:  # no server: compose, and say so in every prose section
            chat = UnavailableWriter(settings.llm.model, f"chat model unavailable: {exc}")
        yield DraftWriters(chat=chat)


class DraftingService:
    """The drafter every face calls: the governance service's stored, audited drafts, written by the writer the
    settings choose (the tuned drafter is loaded once and kept), with prior art's objections read from the room
    structure of each earlier discussion (cached under ``<data_dir>/cache/prior-art-rooms``)."""

    def __init__(self, governance: GovernanceService, *, settings: ConcordSettings) -> None:
        self.governance = governance
        self.settings = settings
        self._tuned: BodyWriter | None = None
        self.rooms = self._room_source()

    def _room_source(self) -> Any:
        """Prior art's objections from the room structure (needs the sentence encoder the retriever uses)."""
        embedder = getattr(self.governance.post_retriever, "embedder", None)
        if embedder is None:
            return None
        from governance.prior_rooms import RoomStructureSource

        return RoomStructureSource(self.governance.store, embedder=embedder,
                                   cache_dir=self.settings.data_dir / "cache" / "prior-art-rooms")

    @property
    def writer(self) -> str:
        return choose_writer(self.settings)

    def draft(self, *, dao: str, idea: str, **options: Any) -> DraftView:
        """Draft ``idea`` for ``dao`` (options as :meth:`GovernanceService.draft`: title, actions, k, author,
        governor_address)."""
        if self.writer == "tuned" and self._tuned is None:
            self._tuned = _tuned_drafter(self.settings)
        with open_draft_writers(self.settings, tuned=self._tuned) as writers:
            return self.governance.draft(dao=dao, idea=idea, chat=writers.chat, body_writer=writers.body, rooms=self.rooms,
                                         **options)
