"""`zoo evaluate` (zoo/evaluation.py): the statistics on known answers, bundled cards re-measured within their
tolerance on this backend, and a number that moved found outside it (exit status 1)."""

import json
import shutil

import numpy as np
import pytest

from conftest import ROOT, shared_data_dir
from zoo import evaluation


@pytest.fixture(scope="module")
def olivetti():
    return shared_data_dir("olivetti_faces/olivetti_faces.npz", "the evaluation of the Olivetti cards")


@pytest.mark.backend_free
def test_standard_errors_on_known_sets():
    m = evaluation.mean_of([1.0, 2.0, 3.0])
    assert (m.value, m.items) == (2.0, 3) and m.standard_error == pytest.approx(1 / np.sqrt(3))
    p = evaluation.proportion([1, 0, 1, 1])
    assert p.value == 0.75 and p.standard_error == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    b = evaluation.bootstrapped(np.mean, np.arange(100.0))
    assert b.value == 49.5 and 1.5 < b.standard_error < 5.0  # the mean's standard error is 2.9
    assert evaluation.Measurement(10.0, 0.0, 5, relative=0.02).tolerance == pytest.approx(0.2)
    metrics = [{"key": "a", "value": 2.0}, {"key": "b", "value": 1.0}]
    attached = evaluation.with_protocol(metrics, "iwae", {"k": 5}, {"a": m})
    assert attached[0]["protocol"] == {"name": "iwae", "args": {"k": 5}}
    assert attached[0]["tolerance"] == round(3 / np.sqrt(3), 6) and "protocol" not in attached[1]


def test_bundled_olivetti_cards_reproduce_on_this_backend(olivetti):
    for name in ("pca_olivetti", "lda_olivetti"):
        rows = {row.key: row for row in evaluation.evaluate(name)}
        measured = [row for row in rows.values() if row.measured is not None]
        assert measured and all(row.within for row in measured), [vars(r) for r in measured]
        assert "needs training" in rows["identification_accuracy_random_splits"].skipped


def test_a_number_that_moved_is_outside_and_zoo_evaluate_exits_1(olivetti, tmp_path, capsys):
    from zoo.cli import main

    folder = tmp_path / "lda"
    shutil.copytree(ROOT / "checkpoints" / "lda_olivetti", folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    metric = next(m for m in metadata["zoo"]["metrics"] if m["key"] == "identification_accuracy")
    metric["value"] = round(metric["value"] - 0.2, 4)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    assert main(["evaluate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "OUTSIDE" in out and "skipped" in out
    assert main(["evaluate", str(folder), "--json"]) == 1
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["identification_accuracy"]["within"] is False and rows["identification_accuracy"]["tolerance"] > 0
    assert main(["evaluate", "no_such_model"]) == 2


def test_quick_evaluation_measures_a_subset_with_its_wider_tolerance(real_tfds_dir):
    rows = {row.key: row for row in evaluation.evaluate("mnistnet", quick=True)}
    accuracy = rows["accuracy"]
    assert accuracy.within and accuracy.tolerance == pytest.approx(3 * np.sqrt(
        accuracy.measured * (1 - accuracy.measured) / 2000), rel=1e-6)  # three standard errors of 2000 images


@pytest.mark.backend_free
def test_every_bundled_metric_has_a_protocol_and_tolerance_or_says_why_not():
    for metadata_file in sorted((ROOT / "checkpoints").glob("*/metadata.json")):
        for metric in json.loads(metadata_file.read_text())["zoo"]["metrics"]:
            where = f"{metadata_file.parent.name}: {metric['key']}"
            if "protocol" in metric:
                assert metric["protocol"]["name"] in evaluation.PROTOCOLS, where
                assert metric["tolerance"] >= 0, where
            else:
                assert metric.get("not_evaluated"), f"{where} has neither a protocol nor a reason"
