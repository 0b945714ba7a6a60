"""The unit-type agreement between the first pass and the blind second pass comes from the committed label files,
and the blind export never carries a first-pass label."""

from __future__ import annotations

import json

import pytest

from evals.unit_agreement import BLIND, FIRST, load_unit_pairs, unit_agreement
from evals.unit_blind_export import BLIND_EXPORT, _unlabelled_units


def test_per_type_agreement_by_hand() -> None:
    pairs = [("support", "support"), ("support", "information"), ("question", "question"), ("information", "information")]
    result = unit_agreement(pairs)
    assert result["agreement"] == 0.75
    # support: 2 in the first pass, 1 in the second, 1 in both -> 2*1/3
    assert result["per_type"]["support"]["positive_agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["per_type"]["question"]["kappa_one_vs_rest"] == 1.0
    assert result["per_type"]["objection"]["positive_agreement"] is None
    assert result["confusion_first_rows_second_columns"]["support"]["information"] == 1


def test_blind_pass_covers_every_labelled_unit() -> None:
    result = unit_agreement(load_unit_pairs())
    first_ids = [json.loads(x)["id"] for x in FIRST.read_text().splitlines() if x.strip()]
    assert result["n"] == len(first_ids) == len(BLIND.read_text().splitlines())
    assert sum(sum(row.values()) for row in result["confusion_first_rows_second_columns"].values()) == result["n"]
    assert 0 < result["cohen_kappa"] < result["agreement"] < 1
    assert result["passes"]["reviewed_by_a_human"] is False


def test_blind_export_has_no_label_columns(tmp_path) -> None:
    rows = [json.loads(x) for x in BLIND_EXPORT.read_text().splitlines() if x.strip()]
    assert rows and all(not {"type", "role", "labeller"} & set(r) for r in rows)
    labelled = tmp_path / "labels.jsonl"
    labelled.write_text(json.dumps({"id": "u1", "thread": "1", "author": "a", "text": "x y z", "type": "support", "role": "community"}) + "\n")
    assert _unlabelled_units(labelled) == [{"id": "u1", "thread": "1", "author": "a", "text": "x y z"}]


def test_unknown_second_pass_id_is_refused(tmp_path) -> None:
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps({"id": "not-a-unit", "type": "support"}) + "\n")
    with pytest.raises(KeyError, match="re-export"):
        load_unit_pairs(FIRST, second)
