"""Scoring a generated draft against the DAO's template: headings in order in any form the drafting service reads,
markdown alone, repetition, and what the gate would take."""

from __future__ import annotations

from bots.cli.finetune_draft import draft_scores, repetition, structure_agreement
from governance.draft_template import DraftTemplate, TemplateSection

TEMPLATE = DraftTemplate("arbitrum", (TemplateSection("Abstract", "summary", 1.0),
                                      TemplateSection("Motivation", "motivation", 1.0),
                                      TemplateSection("Rationale", "rationale", 1.0),
                                      TemplateSection("Timeline", "timeline", 1.0)))
ABSTRACT = "The DAO pays for an independent audit of each grantee's contracts before the second milestone payment."
MOTIVATION = "Several funded projects shipped unaudited code last year, and two of them lost user funds to known bugs."


def test_colon_headings_count_as_headings_but_not_as_markdown() -> None:
    text = f"Abstract:\n\n{ABSTRACT}\n\nMotivation:\n\n{MOTIVATION}"
    assert structure_agreement(text, TEMPLATE.headings) == 0.5
    assert structure_agreement(text, TEMPLATE.headings, markdown_only=True) == 0.0
    assert structure_agreement(f"## Abstract\n\n{ABSTRACT}\n\n## Motivation\n\n{MOTIVATION}", TEMPLATE.headings,
                               markdown_only=True) == 0.5
    assert structure_agreement("The Abstract: a sentence that is not a heading.", TEMPLATE.headings) == 0.0


def test_repetition_is_the_share_of_repeated_trigrams() -> None:
    assert repetition(ABSTRACT) == 0.0
    looping = " ".join([MOTIVATION] * 5)
    assert repetition(looping) > 0.7
    assert repetition("") == 0.0


def test_scores_count_what_the_gate_takes_and_skip_fact_sections() -> None:
    text = (f"## Abstract\n\n{ABSTRACT}\n\n## Motivation\n\n{' '.join([MOTIVATION] * 3)}\n\n"
            "## Timeline\n\nVote opens next week and closes five days later, then the audits start.")
    scores = draft_scores(text, TEMPLATE, idea="Fund audits")
    assert scores["agreement"] == scores["agreement_markdown"] == 0.75
    assert (scores["prose_sections"], scores["accepted"]) == (3, 1)  # Timeline is composed from facts, never the model's
    assert scores["refusals"] == {"Motivation": "repeats itself", "Rationale": "the model wrote no such section"}
