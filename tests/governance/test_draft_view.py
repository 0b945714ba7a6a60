"""The typed draft view keeps every key of the draft's JSON: typed fields, and anything newer in ``extra``."""

from __future__ import annotations

from governance.views import DraftView

DRAFT_JSON = {
    "id": 7,
    "dao": "arbitrum",
    "title": "Fund audits",
    "body": "## Summary\n\nFund audits [1].\n",
    "citations": [{"number": 1, "post_id": 42, "thread_title": "Audits", "url": "https://forum.example/t/1/2",
                   "quote": "Audits first.", "score": 0.8}],
    "actions": [{"target": "0x912CE59144191C1204E64559FE8253a0e49E6548", "signature": "transfer(address,uint256)",
                 "args": ["0x000000000000000000000000000000000000dEaD", 5], "value": 0, "calldata": "0xa9059cbb",
                 "described": "Call ..."}],
    "snapshot_payload": {"message": {"title": "Fund audits"}},
    "governor_tx": None,
    "sections": [{"heading": "Summary", "text": "Fund audits [1]."}],
    "template": {"sections": ["Summary"]},
    "written_by": {"Summary": "composed"},
    "prior_art": {"proposals": [], "method": "bm25"},
    "expectation": {"prediction": {"error": "no predictor"}, "objections": [{"quote": "too costly"}], "requested_changes": []},
    "drafter_note": "a key this view does not know yet",
}


def test_the_view_reads_typed_fields_and_writes_the_same_json() -> None:
    view = DraftView.from_json(DRAFT_JSON)
    assert view.citations[0].post_id == 42 and view.citations[0].number == 1
    assert view.actions[0].signature == "transfer(address,uint256)"
    assert view.sections[0].heading == "Summary"
    assert view.expectation.prediction == {"error": "no predictor"} and view.expectation.objections == [{"quote": "too costly"}]
    assert view.extra == {"drafter_note": "a key this view does not know yet"}
    assert view.to_json() == DRAFT_JSON
