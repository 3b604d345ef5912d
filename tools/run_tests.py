"""Run the whole test suite on TensorFlow, JAX and PyTorch, each in its own process.

    python tools/run_tests.py            # all three backends, then the cross-backend checks
    python tools/run_tests.py -k vae     # extra arguments go to every pytest run

Keras fixes its backend once per process, so each backend gets its own pytest
run of tests/ (less tests/cross_backend); the cross-backend checks then run
once and start one worker process per backend themselves. Real data comes from
$ZOO_DATA_DIR (default: ../shared/data next to the repository, when present).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "jax", "torch")


def main(argv):
    env = dict(os.environ)
    shared = ROOT.parent / "shared" / "data"
    if "ZOO_DATA_DIR" not in env and shared.is_dir():
        env["ZOO_DATA_DIR"] = str(shared)
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    env.setdefault("ZOO_TFDS_DIR", str(cache / "keras-zoo" / "tensorflow_datasets"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    runs = [(backend, ["tests", "--ignore=tests/cross_backend"]) for backend in BACKENDS]
    runs.append(("cross-backend", ["tests/cross_backend"]))
    totals = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    failed_runs = []
    for label, paths in runs:
        backend = "jax" if label == "cross-backend" else label
        print(f"\n===== {label} =====", flush=True)
        proc = subprocess.run([sys.executable, "-m", "pytest", *paths, *argv], cwd=ROOT,
                              env={**env, "KERAS_BACKEND": backend}, stdout=subprocess.PIPE, text=True)
        sys.stdout.write(proc.stdout)
        counts = _counts(proc.stdout)
        for key in totals:
            totals[key] += counts.get(key, 0)
        if proc.returncode != 0:
            failed_runs.append(f"{label} (exit {proc.returncode})")

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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
