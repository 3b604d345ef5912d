"""tools/run_tests.py: every part of the suite runs exactly once, how many at once, and what it reads back."""

import importlib.util

import pytest

from conftest import BACKENDS, ROOT, spread

pytestmark = pytest.mark.backend_free

spec = importlib.util.spec_from_file_location("run_tests", ROOT / "tools" / "run_tests.py")
run_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_tests)


def test_each_part_runs_once_with_its_backend():
    parts = [(backend, part) for _, backend, _, part in run_tests.runs()]
    assert sorted(parts) == sorted([("tensorflow", "backend_free"), ("tensorflow", "backend"), ("jax", "backend"),
                                    ("torch", "backend"), ("jax", "")])
    labels = [label for label, *_ in run_tests.runs()]
    assert len(set(labels)) == len(labels)


def test_runs_at_once_come_from_the_environment_or_the_cores(monkeypatch):
    assert run_tests.jobs({"ZOO_TEST_JOBS": "3"}) == 3
    monkeypatch.setattr(run_tests.os, "cpu_count", lambda: 1)
    assert run_tests.jobs({}) == 1
    monkeypatch.setattr(run_tests.os, "cpu_count", lambda: 2)
    assert run_tests.jobs({}) == 2
    for bad in ("0", "two", "-1"):
        with pytest.raises(SystemExit, match="positive integer"):
            run_tests.jobs({"ZOO_TEST_JOBS": bad})


def test_counts_and_durations_are_read_from_pytest_output():
    output = ("============================= slowest 10 durations =============================\n"
              "12.50s call     tests/test_a.py::test_x\n"
              "3.00s setup    tests/test_b.py::test_y[1]\n"
              "==== 2 failed, 40 passed, 3 skipped, 1 error in 9.10s ====\n")
    assert run_tests._counts(output) == {"failed": 2, "passed": 40, "skipped": 3, "errors": 1}
    assert run_tests._durations(output) == [(12.5, "call tests/test_a.py::test_x"),
                                            (3.0, "setup tests/test_b.py::test_y[1]")]


def test_spread_cases_run_each_on_one_backend_in_turn():
    cases = spread([("a", 1), ("b", 2), ("c", 3), ("d", 4)], start=1)
    assert [case.values for case in cases] == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
    backends = [case.marks[0].args for case in cases]
    assert backends == [(BACKENDS[1],), (BACKENDS[2],), (BACKENDS[0],), (BACKENDS[1],)]
    assert all(case.marks[0].name == "one_backend" for case in cases)
    assert [case.values for case in spread(["x"])] == [("x",)]  # single values stay single
