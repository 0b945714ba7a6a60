"""The draft fine-tuning task's data and scoring (the training itself is exercised by `concord finetune train --task draft`)."""

from __future__ import annotations

from datetime import UTC

import pytest

from agent.finetune.draft_task import CUTOFF, draft_examples
from bots.cli.finetune_draft import structure_agreement
from ingest.core.domain import Proposal
from ingest.core.store import Store


@pytest.mark.slow
def test_draft_examples_are_passed_proposals_before_2025_oldest_first(sample_store: Store) -> None:
    examples = draft_examples(sample_store, "compound")
    assert len(examples) >= 8
    with sample_store.session() as session:
        rows = [session.get(Proposal, int(e.ref)) for e in examples]
    assert all(r is not None and r.outcome == "passed" for r in rows)
    when = [(r.created_at or r.start).replace(tzinfo=UTC) for r in rows if r is not None]
    assert all(w < CUTOFF for w in when) and when == sorted(when)
    assert all(e.answer and "Write the proposal titled" in e.messages[1]["content"] for e in examples)


def test_structure_agreement_counts_headings_in_the_templates_order() -> None:
    template = ["Abstract", "Motivation", "Specifications", "Timeline"]
    assert structure_agreement("## Abstract\nx\n## Motivation\ny\n## Specifications\nz\n## Timeline\nt", template) == 1.0
    assert structure_agreement("## Timeline\nt\n## Abstract\nx", template) == 0.25  # out of order counts once
    assert structure_agreement("no headings at all", template) == 0.0
