"""Run the whole test suite: backend-free tests once, the rest on TensorFlow, JAX and PyTorch, each in its own process.

    python tools/run_tests.py            # backend-free once, the three backends, the cross-backend checks
    python tools/run_tests.py -k vae     # extra arguments go to every pytest run
    ZOO_TEST_JOBS=1 python tools/run_tests.py   # one run at a time (default: two at once on 2+ cores)

Keras fixes its backend once per process, so each backend gets its own pytest
run of tests/ (less tests/cross_backend). Tests marked `backend_free` (data,
text, numpy metrics, CLI parsing, cards, the Hub server: nothing whose result
depends on the Keras backend) run once, in a run of their own; the
cross-backend checks run once and start one worker process per backend
themselves (tests/conftest.py selects by $ZOO_TEST_PART). The runs are
independent processes with their own temporary folders, and the tests' small
shapes keep each mostly on one core, so two run at once (`$ZOO_TEST_JOBS`),
longest first; each run's output is printed whole when it ends. At the end the runner
prints each run's time, the whole suite's, and the ten slowest tests, so that a
family whose tests grow shows up (README: "Keeping the suite short"). Real data
comes from $ZOO_DATA_DIR (default: ../shared/data next to the repository, when
present).
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "jax", "torch")
SLOWEST = 10
# The budget of the README's rule: the clean-clone CI (install + this runner) stays under 35 minutes.
BUDGET_MINUTES = {"suite": 20, "per run": 12}  # two runs side by side


def runs():
    """(label, Keras backend, pytest paths, $ZOO_TEST_PART) of each pytest process, longest first (measured:
    JAX 9, TensorFlow 7, backend-free 5, torch 4 and cross-backend 1 minutes), so that runs side by side end
    together."""
    unit = ["tests", "--ignore=tests/cross_backend"]
    return ([("jax", "jax", unit, "backend"), ("tensorflow", "tensorflow", unit, "backend"),
             ("backend-free", "tensorflow", unit, "backend_free"), ("torch", "torch", unit, "backend"),
             ("cross-backend", "jax", ["tests/cross_backend"], "")])


def jobs(env):
    """How many pytest runs go at once: $ZOO_TEST_JOBS, else two where there are two cores or more."""
    value = env.get("ZOO_TEST_JOBS", "2" if (os.cpu_count() or 1) >= 2 else "1")
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"ZOO_TEST_JOBS must be a positive integer; got {value!r}")
    return int(value)


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
    waiting, running, at_once = list(runs()), [], jobs(env)
    suite_start = time.perf_counter()
    print(f"{len(waiting)} pytest runs, {at_once} at once", flush=True)
    while waiting or running:
        while waiting and len(running) < at_once:
            label, backend, paths, part = waiting.pop(0)
            output = tempfile.TemporaryFile("w+")
            proc = subprocess.Popen([sys.executable, "-m", "pytest", *paths, f"--durations={SLOWEST}", *argv],
                                    cwd=ROOT, env={**env, "KERAS_BACKEND": backend, "ZOO_TEST_PART": part},
                                    stdout=output, stderr=subprocess.STDOUT, text=True)
            running.append((label, proc, output, time.perf_counter()))
        time.sleep(0.2)
        for label, proc, output, start in [r for r in running if r[1].poll() is not None]:
            running.remove((label, proc, output, start))
            times.append((label, time.perf_counter() - start))
            output.seek(0)
            text = output.read()
            output.close()
            print(f"\n===== {label} =====\n{text}", end="", flush=True)
            counts = _counts(text)
            for key in totals:
                totals[key] += counts.get(key, 0)
            slow += [(seconds, f"{label}: {test}") for seconds, test in _durations(text)]
            if proc.returncode not in (0, 5):  # 5: every test of the run was deselected (e.g. by -k)
                failed_runs.append(f"{label} (exit {proc.returncode})")

    print("\n===== time =====")
    for label, seconds in times:
        over = "  (over the per-run budget)" if seconds > 60 * BUDGET_MINUTES["per run"] else ""
        print(f"{label:>14}: {seconds / 60:5.1f} min{over}")
    whole = time.perf_counter() - suite_start
    print(f"{'suite':>14}: {whole / 60:5.1f} min, {at_once} runs at once (budget {BUDGET_MINUTES['suite']} min)")
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
