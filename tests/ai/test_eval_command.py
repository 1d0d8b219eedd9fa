"""`founderops eval support` and `founderops bench support` on small generated files."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from founderops.cli import evaluation
from founderops.support import services
from founderops.support.models import Decision, KnowledgeArticle, TrainingExample


def write(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


@pytest.fixture
def small_file(tmp_path: Path, clinc_raw: dict[str, list[list[str]]]) -> Path:
    """Five intents in CLINC150's layout, built from its train and oos_train splits only."""
    intents = sorted({intent for _, intent in clinc_raw["train"]})[:5]
    rows = [row for row in clinc_raw["train"] if row[1] in intents]
    train = [r for i in intents for r in [x for x in rows if x[1] == i][:20]]
    val = [r for i in intents for r in [x for x in rows if x[1] == i][20:26]]
    oos = clinc_raw["oos_train"]
    layout = {"train": train, "oos_train": oos[:30], "val": val, "oos_val": oos[30:36]}
    return write(tmp_path / "small.json", layout)


def run_eval(*args: str) -> dict[str, object]:
    out = StringIO()
    call_command("eval", "support", *args, stdout=out)
    figures: dict[str, object] = json.loads(out.getvalue())
    return figures


@pytest.mark.slow
@pytest.mark.django_db
def test_it_evaluates_a_file_through_the_production_path(small_file: Path) -> None:
    figures = run_eval("--data", str(small_file), "--target-precision", "0.9")
    assert figures["n_known"] == 30
    assert figures["n_unknown"] == 6
    for key in ("automation_rate", "auto_precision", "oos_escalation_rate", "p50_ms", "p95_ms"):
        assert figures[key] is not None
    assert Decision.objects.count() == 36
    assert KnowledgeArticle.objects.count() == 5


@pytest.mark.slow
@pytest.mark.django_db
def test_it_stores_unknown_training_requests_as_oos(small_file: Path) -> None:
    run_eval("--data", str(small_file))
    assert TrainingExample.objects.filter(intent="oos").count() == 30


@pytest.mark.slow
@pytest.mark.django_db
def test_it_keeps_only_k_shots_per_intent(small_file: Path) -> None:
    figures = run_eval("--data", str(small_file), "--shots", "3")
    assert figures["n_train"] == 15
    assert figures["n_oos_train"] == 30


@pytest.mark.django_db
def test_it_refuses_a_database_that_holds_real_work(small_file: Path) -> None:
    services.save_article("refunds", "Refunds", "refund", "Body", "We refund.", [])
    with pytest.raises(CommandError, match="already holds"):
        run_eval("--data", str(small_file))


def test_it_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        run_eval("--data", str(tmp_path / "absent.json"))


def test_it_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"train": [', encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        run_eval("--data", str(path))


def test_it_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"train": [["caf\xe9", "x"]]}')
    with pytest.raises(CommandError, match="not UTF-8"):
        run_eval("--data", str(path))


def test_it_names_the_missing_splits(tmp_path: Path) -> None:
    path = write(tmp_path / "partial.json", {"train": [["hi", "greet"]], "val": []})
    with pytest.raises(CommandError, match="missing key\\(s\\) oos_train, oos_val"):
        run_eval("--data", str(path))


def test_it_names_the_malformed_row(tmp_path: Path) -> None:
    layout = {"train": [["hi", "greet"], ["no intent"]], "oos_train": [], "val": [], "oos_val": []}
    with pytest.raises(CommandError, match=r"train\[1\] is \[\"no intent\"\]"):
        run_eval("--data", str(write(tmp_path / "rows.json", layout)))


def test_it_refuses_known_rows_labelled_oos(tmp_path: Path) -> None:
    layout = {"train": [["hi", "oos"]], "oos_train": [], "val": [["hi", "oos"]], "oos_val": []}
    with pytest.raises(CommandError, match="put them in oos_"):
        run_eval("--data", str(write(tmp_path / "labels.json", layout)))


def test_it_refuses_a_target_precision_out_of_range(small_file: Path) -> None:
    with pytest.raises(CommandError, match="target-precision"):
        run_eval("--data", str(small_file), "--target-precision", "1.5")


def test_it_keeps_the_first_examples_of_each_intent_in_file_order() -> None:
    dataset = evaluation.Dataset(
        [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a"), ("b2", "b")],
        [("x", "oos")],
        [],
        [],
    )
    assert dataset.with_shots(2).train == [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")]


def test_it_reweights_precision_to_the_planned_unknown_share() -> None:
    known = [evaluation.Outcome("a", "a", True, False, 0.01)] * 9 + [
        evaluation.Outcome("a", "b", True, False, 0.01)
    ]
    unknown = [evaluation.Outcome("oos", "a", True, False, 0.01)] + [
        evaluation.Outcome("oos", "oos", False, False, 0.01)
    ] * 9
    # 0.75 x 0.9 right out of 0.75 x 1.0 + 0.25 x 0.1 answered.
    assert evaluation.reweighted_precision(known, unknown, 0.25) == pytest.approx(0.8710, abs=1e-4)


@pytest.mark.slow
@pytest.mark.django_db
def test_it_benchmarks_the_pipeline() -> None:
    out = StringIO()
    call_command("bench", "support", "--tickets", "12", "--intents", "3", stdout=out)
    report = json.loads(out.getvalue())
    assert report["tickets"] == 12
    assert report["tickets_per_second"] > 0
