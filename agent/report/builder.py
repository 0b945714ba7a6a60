"""Build a consensus report: who speaks (proposer side vs community), typed argument units, camps of people,
cruxes, requested changes, open questions, common ground, stance mix three ways, a checked digest, manifest."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.camps import NAMING_SYSTEM_PROMPT, naming_schema, split_units
from agent.llm.backend import ChatBackend, ChatMessage, LLMError
from agent.quality_gate import instruction_like
from agent.report.digest import DIGEST_SYSTEM_PROMPT, digest_schema, model_summary, template_digest
from agent.report.faithfulness import check_citations
from agent.report.history import changes_since
from agent.report.inputs import ReportInputs, load_inputs, topic_url
from agent.report.model import (
    CampReport,
    Citation,
    CommonGround,
    ConsensusReport,
    Crux,
    DataWindow,
    Faithfulness,
    OpenQuestion,
    PredictionReport,
    ProposalRef,
    ProposerMember,
    ProposerSide,
    RequestedChange,
    StanceMix,
    StanceSummary,
)
from agent.report.room import STANCE_ORDER, read_room
from agent.report.speakers import SpeakerPost, find_proposer_side
from agent.report.version import builder_version
from agent.stance.base import StanceClassifier
from agent.units.types import TYPE_STANCE, TypedUnit, UnitType
from ingest.core.domain import Proposal, utcnow

if TYPE_CHECKING:
    from agent.units.classifier import UnitTypeClassifier
    from embeddings.base import Embedder
    from ingest.core.store import Store

__all__ = ["SUMMARY_SYSTEM_PROMPT", "Predictor", "ReportBuilder", "ReportParams", "summary_schema"]

SUMMARY_SYSTEM_PROMPT = DIGEST_SYSTEM_PROMPT  # the summary prompt (kept under its old name)


Predictor = Callable[["Store", Proposal], PredictionReport | None]

NO_PREDICTOR = (
    "No outcome predictor was given: pass one to ReportBuilder(predictor=...); Services.report_builder wires "
    "agent.predict's calibrated predictor."
)
NO_STANCE = (
    "No trained stance classifier was given; pass one to ReportBuilder(stance=...) "
    "or use `concord report --llm-stance` for the (weak) LLM labels."
)


def summary_schema(post_ids: list[int]) -> dict[str, object]:
    """A summary of at most 500 characters and up to 6 cited post ids drawn from ``post_ids``."""
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "maxLength": 500},
            "post_ids": {"type": "array", "items": {"type": "integer", "enum": post_ids or [0]}, "maxItems": 6},
        },
        "required": ["summary", "post_ids"],
    }


@dataclass(frozen=True)
class ReportParams:
    """Everything that shapes a report besides its inputs and models (recorded in the manifest)."""

    quotes_per_camp: int = 3
    confidence_threshold: float = 0.5
    naming_max_tokens: int = 120
    summary_max_tokens: int = 400
    model_wording: str = "auto"  # "auto": only when the chat backend is not the embedded model; "always"; "never"


def _sha(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


class ReportBuilder:
    """Turns one proposal's stored discussion into an unsigned :class:`ConsensusReport`.

    Numbers come from trained models given here (``stance``: post stance; ``units``: unit types; ``predictor``);
    the structure is deterministic. A capable chat model (any configured OpenAI-compatible server; not the embedded
    default unless ``model_wording="always"``) may word the summary and camp names, behind the quality gate.
    """

    def __init__(
        self, store: Store, *, embedder: Embedder, chat: ChatBackend, stance: StanceClassifier | None = None,
        predictor: Predictor | None = None, params: ReportParams | None = None, units: UnitTypeClassifier | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chat = chat
        self.stance = stance
        self.predictor = predictor
        self.params = params or ReportParams()
        self._units = units

    @property
    def units(self) -> UnitTypeClassifier | None:
        """The given unit-type classifier, else the committed one when the embedder runs the MiniLM it was trained on
        (at any precision)."""
        from embeddings.base import weights_of

        if self._units is None and weights_of(getattr(self.embedder, "model_id", "")) == "all-MiniLM-L6-v2":
            from agent.units.classifier import load_unit_classifier

            self._units = load_unit_classifier(self.embedder)
        return self._units

    def capable_chat(self) -> bool:
        mode = self.params.model_wording
        if mode in ("always", "never"):
            return mode == "always"
        return str(self.chat.identity().get("backend", "")) != "embedded"

    def build(self, proposal_id: int) -> ConsensusReport:
        inputs = load_inputs(self.store, proposal_id)
        return self.build_from(inputs)

    def build_from(self, inputs: ReportInputs) -> ConsensusReport:
        p = self.params
        proposal = inputs.proposal
        sources = inputs.source_posts()
        texts = {s.post_id: s.text for s in sources}
        by_id = {s.post_id: s for s in sources}
        numbers = {int(post.id): post.number for post in inputs.posts if post.number is not None}  # type: ignore[arg-type]
        faith = Faithfulness()

        def cite(unit: TypedUnit) -> Citation:
            return Citation(post_id=unit.post_id, quote=unit.text, url=by_id[unit.post_id].url, author=unit.author)

        # who speaks; instruction-like posts are read but never used
        set_aside_posts = {s.post_id for s in sources if instruction_like(s.text)}
        side = find_proposer_side(
            [SpeakerPost(s.post_id, s.author, s.text, numbers.get(s.post_id), s.address) for s in sources if s.post_id not in set_aside_posts],
            proposal_author=proposal.author, proposal_body=proposal.body, proposal_title=proposal.title,
        )
        proposer = set(side.members)

        results = self.stance.classify([s.text for s in sources]) if self.stance is not None and sources else []
        post_results = {s.post_id: r for s, r in zip(sources, results, strict=True)} if results else {}

        units = split_units(sources)
        vectors = self.embedder.embed_batch([u.text for u in units]) if units else None
        classifier = self.units if units else None
        kinds = classifier.classify([u.text for u in units], vectors=vectors) if classifier is not None else []
        typed = []
        for i, u in enumerate(units):
            kind, confidence = (kinds[i].type, kinds[i].confidence) if kinds else (UnitType.INFORMATION, 0.0)
            typed.append(TypedUnit(unit=u, type=kind, confidence=confidence, stance=TYPE_STANCE[kind], proposer=u.author in proposer,
                                   instruction_like=u.post_id in set_aside_posts or instruction_like(u.text), post_number=numbers.get(u.post_id)))
        room = read_room(
            typed, vectors, post_authors={s.post_id: s.author for s in sources}, post_numbers=numbers, post_texts=texts,
            proposer=proposer, post_results=post_results, voting_power=inputs.voting_power, threshold=p.confidence_threshold,
            quotes_per_camp=p.quotes_per_camp, set_aside=set_aside_posts,
        )

        proposer_posts = [s for s in sources if s.author in proposer and s.post_id not in set_aside_posts]
        replies = []
        for post in proposer_posts[:12]:
            own = [u for u in typed if u.post_id == post.post_id and len(u.text.split()) >= 6 and not u.instruction_like]
            replies.extend(own[:1])
        proposer_side = ProposerSide(
            members=[ProposerMember(author=a, evidence=e, posts=sum(1 for s in proposer_posts if s.author == a)) for a, e in side.members.items()],
            replies=check_citations([cite(u) for u in replies], texts, faith), posts=len(proposer_posts),
            note="" if side.members else "No account was identified as the proposer side (no matching author, opening post or team replies).",
        )

        camp_reports = []
        for index, camp in enumerate(room.camps):
            mix = Counter(room.post_labels[pid] for n in camp.people for pid in room.people[n].posts)
            camp_reports.append(CampReport(
                index=index, name=camp.name, stance=camp.stance, people=len(camp.people), posts=camp.posts,
                voting_power=camp.voting_power, members=camp.people, reasons=camp.reasons, reasons_by="c-TF-IDF keyphrases against the other camps",
                stance_mix=dict(sorted(mix.items())), quotes=check_citations([cite(u) for u in camp.quotes], texts, faith),
            ))
        if camp_reports and self.capable_chat():
            self._model_camp_names(proposal, camp_reports, room, typed)

        def one(unit_index: int | None) -> Citation | None:
            if unit_index is None:
                return None
            kept = check_citations([cite(typed[unit_index])], texts, faith)
            return kept[0] if kept else None

        requested = [RequestedChange(request=one(r["request"]), asked_by=r["asked_by"], status=r["status"], answer=one(r["answer"]), note=r["note"])
                     for r in room.requested_changes]
        requested = [r for r in requested if r.request is not None or r.answer is not None]
        questions = [OpenQuestion(question=q, asked_by=item["asked_by"]) for item in room.open_questions[:8] if (q := one(item["question"])) is not None]
        cruxes = []
        for c in room.cruxes:
            a, b = one(c["for"]), one(c["against"])
            if a and b:
                cruxes.append(Crux(topic=c["topic"], sides={"for": a, "against": b}))
        common = []
        for g in room.common_ground:
            quotes = [q for q in (one(i) for i in g["units"]) if q is not None]
            if len(quotes) == 2:
                common.append(CommonGround(stances=g["stances"], quotes=quotes))

        community_posts = [pid for person in room.people.values() for pid in person.posts]
        stance_mix = self._stance_mix(room, community_posts)
        stance_summary = None
        if results:
            counts = Counter(room.post_labels[pid] for pid in community_posts)
            stance_summary = StanceSummary(
                model=results[0].model or type(self.stance).__name__,
                counts={k: counts.get(k, 0) for k in ("for", "against", "neutral", "off-topic", "uncertain")},
                by_post=[{"post_id": s.post_id, "proposer": s.author in proposer, "set_aside": s.post_id in set_aside_posts,
                          **r.as_dict()} for s, r in zip(sources, results, strict=True)],
            )

        summary = template_digest(title=proposal.title, side=proposer_side, camps=camp_reports, changes=requested, questions=questions,
                                  cruxes=cruxes, community_people=len(room.people), total_posts=len(sources) - len(set_aside_posts))
        if self.capable_chat() and summary.sentences and camp_reports:
            summary = model_summary(self.chat, summary, title=proposal.title, posts=texts, faith=faith, max_tokens=p.summary_max_tokens)
        elif summary.sentences:
            summary = summary.model_copy(update={"gate": "template digest: the configured chat model is the embedded default, which does not word summaries"})

        prediction, prediction_missing = None, NO_PREDICTOR
        if self.predictor is not None:
            prediction = self.predictor(self.store, proposal)
            prediction_missing = None if prediction else "The predictor returned no prediction for this proposal."

        times = inputs.times()
        timeline = self._timeline(inputs)
        window = DataWindow(
            threads=[{"id": t.id, "source_id": t.source_id, "external_id": t.external_id, "title": t.title, "url": topic_url(t.url, t.external_id)}
                     for t in inputs.threads],
            posts=len(sources),
            first_post_at=times[0].isoformat() if times else None,
            last_post_at=times[-1].isoformat() if times else None,
            note="" if times or not sources else "The source gives no post timestamps: posts are ordered by post number, and before/during/after voting cannot be told apart.",
        )
        manifest = self._manifest(inputs)
        report = ConsensusReport(
            generated_at=utcnow().isoformat(),
            proposal=ProposalRef(
                id=int(proposal.id),  # type: ignore[arg-type]
                external_id=proposal.external_id, dao=inputs.dao_slug, title=proposal.title, origin=proposal.origin,
                url=proposal.url, discussion_url=proposal.discussion_url,
                start=proposal.start.isoformat() if proposal.start else None,
                end=proposal.end.isoformat() if proposal.end else None, content_hash=proposal.content_hash,
            ),
            data_window=window,
            summary=summary,
            stance=stance_summary,
            stance_missing=None if stance_summary else (NO_STANCE if sources else "No posts to classify."),
            proposer_side=proposer_side,
            stance_mix=stance_mix,
            camps=camp_reports,
            camps_method=room.method if sources else "no discussion posts linked to this proposal",
            cruxes=cruxes,
            requested_changes=requested,
            open_questions=questions,
            common_ground=common,
            set_aside=[{"post_id": pid, "author": by_id[pid].author, "reason": "instruction-like text: read, never used as a stance, reason, quote or point"}
                       for pid in sorted(set_aside_posts)],
            units=[{"post_id": u.post_id, "author": u.author, "start": u.unit.start, "text": u.text, "type": u.type.value,
                    "confidence": round(u.confidence, 4), "stance": u.stance, "proposer": u.proposer} for u in typed if not u.instruction_like],
            timeline=timeline,
            prediction=prediction,
            prediction_missing=prediction_missing,
            faithfulness=faith,
            inputs_hash=inputs.hash,
            manifest=manifest,
        )
        report.changes_since = changes_since(self.store, report)
        return report

    def _stance_mix(self, room, community_posts: list[int]) -> StanceMix:  # type: ignore[no-untyped-def]
        people = Counter(person.stance for person in room.people.values())
        power: dict[str, float] = {}
        for person in room.people.values():
            if person.voting_power is not None:
                power[person.stance] = power.get(person.stance, 0.0) + person.voting_power
        posts = Counter(room.post_labels[pid] for pid in community_posts)
        return StanceMix(
            people={k: people.get(k, 0) for k in STANCE_ORDER}, voting_power={k: power.get(k, 0.0) for k in STANCE_ORDER} if power else None,
            posts={k: posts.get(k, 0) for k in STANCE_ORDER}, threshold=self.params.confidence_threshold,
            note="Community only (the proposer side is excluded). A person's stance comes from their confident post and unit "
                 "labels; labels below the threshold count as uncertain, never as support. Voting power only where an "
                 "author's address is linked to votes on this proposal.",
        )

    def _timeline(self, inputs: ReportInputs) -> dict[str, object]:
        proposal = inputs.proposal
        dated = [p for p in inputs.posts if p.created_at is not None]
        if not dated:
            return {"has_times": False, "order": "post number",
                    "note": "The source gives no post timestamps: posts are ordered by post number."}
        start, end = proposal.start, proposal.end
        phases: dict[str, list[int]] = {"before": [], "during": [], "after": [], "unknown": []}
        for post in inputs.posts:
            if post.created_at is None or start is None:
                phases["unknown"].append(int(post.id))  # type: ignore[arg-type]
                continue
            at = post.created_at
            key = "before" if at < start else ("during" if end is None or at <= end else "after")
            phases[key].append(int(post.id))  # type: ignore[arg-type]
        return {"has_times": True, "order": "time", "voting_start": start.isoformat() if start else None,
                "voting_end": end.isoformat() if end else None, "phases": {k: v for k, v in phases.items() if v},
                "note": "" if start else "The proposal has no voting start time: phases cannot be told apart."}

    def _model_camp_names(self, proposal: Proposal, camps: list[CampReport], room, typed) -> None:  # type: ignore[no-untyped-def]
        """A capable model's camp names, each kept only if short, not instruction-like and made of the camp's own words."""
        blocks = []
        for camp in camps:
            quotes = "\n".join(f"- {q.quote[:200]}" for q in camp.quotes)
            blocks.append(f"<camp {camp.index + 1} stance={camp.stance} reasons=\"{', '.join(camp.reasons)}\">\n{quotes}\n</camp>")
        try:
            answer = self.chat.complete_json(
                [ChatMessage("system", NAMING_SYSTEM_PROMPT), ChatMessage("user", f"Proposal: {proposal.title[:200]}\n" + "\n".join(blocks))],
                schema=naming_schema(len(camps)), max_tokens=self.params.naming_max_tokens,
            )
        except LLMError:
            return
        names = answer.get("names") if isinstance(answer, dict) else None
        for camp, name in zip(camps, names if isinstance(names, list) else [], strict=False):
            name = " ".join(str(name).split())
            own = " ".join(u.text for n in camp.members for i in room.people[n].units for u in [typed[i]]).lower() + " " + " ".join(camp.reasons)
            words = re.findall(r"[a-z][a-z0-9\-]{3,}", name.lower())
            grounded = words and sum(1 for w in words if w in own) >= 0.5 * len(words)
            if 0 < len(name.split()) <= 8 and not instruction_like(name) and grounded:
                camp.name = f"{camp.name.split(':')[0]}: {name}"
                camp.reasons_by = f"c-TF-IDF keyphrases; name worded by {self.chat.model} (passed the gate)"

    def _manifest(self, inputs: ReportInputs) -> dict[str, object]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            concord_version = version("concord-dao")
        except PackageNotFoundError:
            concord_version = "unknown"
        identity = {k: v for k, v in self.chat.identity().items() if k != "base_url"}
        prompts: dict[str, object] = {
            "camp_naming": {"system": NAMING_SYSTEM_PROMPT, "schema_sha256": _sha(naming_schema(0))},
            "summary": {"system": DIGEST_SYSTEM_PROMPT, "schema_sha256": _sha(digest_schema([]))},
        }
        stance_prompt = getattr(self.stance, "prompt_sha256", None)
        return {
            "concord_version": concord_version,
            "builder_version": builder_version(),
            "chat_model": identity,
            "embedder": {"model_id": self.embedder.model_id, "weights_sha256": self.embedder.weights_sha256()},
            "stance_model": getattr(self.stance, "name", type(self.stance).__name__) if self.stance else None,
            "stance_prompt_sha256": stance_prompt() if callable(stance_prompt) else None,
            "unit_type_model": self._units.model_id if self._units is not None else None,
            "model_wording": self.capable_chat(),
            "prompts": prompts,
            "parameters": vars(self.params),
            "proposal": {"id": inputs.proposal.id, "content_hash": inputs.proposal.content_hash},
            "input_posts": [{"post_id": p.id, "content_hash": p.content_hash} for p in inputs.posts],
            "inputs_hash": inputs.hash,
        }
