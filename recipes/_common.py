"""What every recipe does around its method: arguments, provenance, results JSON."""

import argparse
import json
import os
import subprocess
import sys
import time

import keras
from pathlib import Path

from zoo.io import write_atomic

ROOT = Path(__file__).resolve().parent.parent


def base_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings (< 1 min); writes under logs/ unless --out is given")
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder to write")
    parser.add_argument("--results", type=Path, default=None, help="results JSON to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", default="auto", help="Keras fit verbosity: auto, 0, 1 or 2")
    return parser


def outputs(args, name):
    """Checkpoint and results paths: the bundled ones for full runs, logs/ for --quick."""
    if args.quick:
        scratch = ROOT / "logs" / f"{name}_quick"
        return args.out or scratch / name, args.results or scratch / f"{name}.json"
    return args.out or ROOT / "checkpoints" / name, args.results or ROOT / "results" / f"{name}.json"


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# The commit of the code this run imported; taken at start-up, since a long run can outlast later commits.
COMMIT = _git_commit()


def command_line():
    return " ".join(["python", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])


def jit_compile():
    """The `jit_compile` the recipes use: XLA on JAX only. On TF, XLA made the conv nets slower on
    this CPU (measured); on torch, `jit_compile=True` means torch.compile, which took minutes to
    compile a few steps here, so torch runs eagerly."""
    return keras.backend.backend() == "jax"


def verbosity(value):
    return value if value == "auto" else int(value)


class Stopwatch:
    def __init__(self):
        self.start = time.time()

    @property
    def seconds(self):
        return round(time.time() - self.start, 1)


def results_record(name, args, metrics, train_seconds, history, **extra):
    """The results JSON of a run: what it measured, on what, from which code and command."""
    return {
        "name": name,
        "metrics": {m["key"]: m["value"] for m in metrics},
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "train_seconds": train_seconds,
        "seed": args.seed,
        "git_commit": COMMIT,
        "command": command_line(),
        "quick": args.quick,
        "history": None if history is None else {k: [round(float(v), 4) for v in vs] for k, vs in history.items()},
        **extra,
    }


def provenance(results, recipe):
    """The checkpoint metadata that names the run which produced it."""
    return {
        "recipe": recipe,
        "command": results["command"],
        "results_file": f"results/{results['name']}.json",
        "seed": results["seed"],
        "seconds": results["train_seconds"],
        "git_commit": results["git_commit"],
        "parent": None,
    }


def write_json(path, data):
    return write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
