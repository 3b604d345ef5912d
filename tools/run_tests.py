"""Run the whole test suite: backend-free tests once, the rest on TensorFlow, JAX and PyTorch, each in its own process.

    python tools/run_tests.py            # backend-free once, the three backends, then the cross-backend checks
    python tools/run_tests.py -k vae     # extra arguments go to every pytest run

Keras fixes its backend once per process, so each backend gets its own pytest
run of tests/ (less tests/cross_backend). Tests marked `backend_free` (data,
text, numpy metrics, CLI parsing, cards, the Hub server: nothing whose result
depends on the Keras backend) run once, in a run of their own; the
cross-backend checks run once and start one worker process per backend
themselves (tests/conftest.py selects by $ZOO_TEST_PART). At the end the runner
prints each run's time, the whole suite's, and the ten slowest tests, so that a
family whose tests grow shows up (README: "Keeping the suite short"). Real data
comes from $ZOO_DATA_DIR (default: ../shared/data next to the repository, when
present).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "jax", "torch")
SLOWEST = 10
# The budget of the README's rule: the clean-clone CI (install + this runner) stays under 35 minutes.
BUDGET_MINUTES = {"suite": 25, "per run": 8}


def runs():
    """(label, Keras backend, pytest paths, $ZOO_TEST_PART) of each pytest process."""
    unit = ["tests", "--ignore=tests/cross_backend"]
    return ([("backend-free", "tensorflow", unit, "backend_free")]
            + [(backend, backend, unit, "backend") for backend in BACKENDS]
            + [("cross-backend", "jax", ["tests/cross_backend"], "")])


def main(argv):
    env = dict(os.environ)
    shared = ROOT.parent / "shared" / "data"
    if "ZOO_DATA_DIR" not in env and shared.is_dir():
        env["ZOO_DATA_DIR"] = str(shared)
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    env.setdefault("ZOO_TFDS_DIR", str(cache / "keras-zoo" / "tensorflow_datasets"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    totals = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    failed_runs, times, slow = [], [], []
    for label, backend, paths, part in runs():
        print(f"\n===== {label} =====", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", *paths, f"--durations={SLOWEST}", *argv], cwd=ROOT,
                              env={**env, "KERAS_BACKEND": backend, "ZOO_TEST_PART": part},
                              stdout=subprocess.PIPE, text=True)
        times.append((label, time.perf_counter() - start))
        sys.stdout.write(proc.stdout)
        counts = _counts(proc.stdout)
        for key in totals:
            totals[key] += counts.get(key, 0)
        slow += [(seconds, f"{label}: {test}") for seconds, test in _durations(proc.stdout)]
        if proc.returncode not in (0, 5):  # 5: every test of the run was deselected (e.g. by -k)
            failed_runs.append(f"{label} (exit {proc.returncode})")

    print("\n===== time =====")
    for label, seconds in times:
        over = "  (over the per-run budget)" if seconds > 60 * BUDGET_MINUTES["per run"] else ""
        print(f"{label:>14}: {seconds / 60:5.1f} min{over}")
    whole = sum(seconds for _, seconds in times)
    print(f"{'suite':>14}: {whole / 60:5.1f} min (budget {BUDGET_MINUTES['suite']} min)")
    print(f"\n===== the {SLOWEST} slowest tests =====")
    for seconds, test in sorted(slow, reverse=True)[:SLOWEST]:
        print(f"{seconds:7.2f}s {test}")

    print("\n===== summary =====")
    if failed_runs:
        print("failing runs: " + ", ".join(failed_runs))
    failed = totals["failed"] + totals["errors"]
    if failed_runs and not failed:  # a run that crashed before pytest could count
        failed = len(failed_runs)
    print(f"total: {totals['passed']} passed, {failed} failed, {totals['skipped']} skipped")
    return 1 if failed_runs else 0


def _counts(output):
    """Counts from pytest's closing line, e.g. '== 3 failed, 40 passed, 2 skipped in 9.1s =='."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    if not lines:
        return {}
    found = dict((key, int(n)) for n, key in re.findall(r"(\d+) (passed|failed|skipped|error)", lines[-1]))
    found["errors"] = found.pop("error", 0)
    return found


def _durations(output):
    """(seconds, "phase test id") from pytest's --durations section."""
    section = output.split("slowest", 1)[-1] if "slowest" in output else ""
    return [(float(s), f"{phase} {test}") for s, phase, test in
            re.findall(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S+)", section, flags=re.M)]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
