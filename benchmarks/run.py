"""Benchmarks: what the zoo's portability costs, per backend, against hand-written training loops.

Each (model, implementation, backend, batch size, option) is measured by
benchmarks/worker.py in its own process; this script runs them one after the
other, collects their JSON lines and writes one table of zoo/reference ratios
with the absolute numbers and the machine described (JSON + markdown + PNG).

    python benchmarks/run.py --quick          # < 5 minutes: VAE and WGAN-GP at their batch size, every implementation
    python benchmarks/run.py                  # the full run: + CycleGAN and translation, batch sizes 32..512, options
    python benchmarks/run.py --device gpu     # the same on a GPU (adds mixed precision to the options)

The full run writes benchmarks/results/<name>.{json,md,png} (name: cpu or gpu);
--quick writes under logs/benchmarks_quick/.
"""

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _bench
import report

HERE = Path(__file__).resolve().parent
HAVE_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None  # a GPU image may have only JAX, torch
MAIN_BATCHES = {"vae": (128,), "wgan_gp": (64,), "cyclegan": (1, 8), "translation": (32,)}
# --quick's timeout per measurement and the seconds its budget grows by, where a model needs more: a translation
# step takes about a second on 2 CPU cores, and each of its workers first learns the Multi30k vocabulary.
QUICK_TIMEOUT = {"translation": 240}
QUICK_EXTRA_BUDGET = {"translation": 330}
SCALING_BATCHES = (32, 64, 128, 256, 512)
PAIRS = [("zoo", "tensorflow"), ("keras_io", "tensorflow"), ("zoo", "jax"), ("jax", "jax"),
         ("zoo", "torch"), ("torch", "torch")]
# Options tried on the zoo (and the keras-io step where it compares), at each model's batch size.
OPTIONS = {
    "tensorflow": [("jit_compile=True", ["--jit-compile", "true"]),
                   ("steps_per_execution=8", ["--steps-per-execution", "8"]),
                   ("tf.data prefetch", ["--data", "tfdata"])],
    "jax": [("jit_compile=False", ["--jit-compile", "false"]),
            ("steps_per_execution=8", ["--steps-per-execution", "8"]),
            ("tf.data prefetch", ["--data", "tfdata"])],
    "torch": [("tf.data prefetch", ["--data", "tfdata"])],
}
NOTES = [
    ("torch `jit_compile=True` (torch.compile) is not tried: it took minutes to compile a few steps here and "
    "fails on the double backward of gradient penalties (zoo/backend/torch_backend.py); "
    "`steps_per_execution` > 1 is refused by Keras on torch."),
    ("The references use the same networks (parameter counts checked equal), optimizer settings, batch, "
    "float32 and thread settings; their initialisation differs (it does not change the cost of a step)."),
    ("The JAX reference carries its PRNG key and donates its state to one jitted step; CycleGAN's pools run "
    "in Python between two jitted halves, as in the authors' PyTorch code. The keras-io CycleGAN has no pool."),
    "Data are random arrays of the real shapes (throughput does not depend on the pixel values).",
    ("Translation: batch 32 is 32 sentences of each language, each with its back-translation, padded to 30 pieces "
     "(random ids, 6 to 24 real pieces each); its images/s column counts those sentences per language. The "
     "references' differences from the zoo (none changes a step's work) are in their module docstrings."),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="< 5 minutes: one batch size, few short repetitions")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="cores per process (default: all usable)")
    parser.add_argument("--models", default=None, help="comma-separated; default vae,wgan_gp,cyclegan,translation "
                                                       "(--quick: vae,wgan_gp)")
    parser.add_argument("--implementations", default=None, help="comma-separated subset of zoo,keras_io,torch,jax")
    parser.add_argument("--backends", default=None,
                        help="Keras backends for the zoo (default: tensorflow,jax,torch; jax,torch where "
                             "TensorFlow is not installed)")
    parser.add_argument("--no-scaling", action="store_true", help="skip batch sizes 32..512")
    parser.add_argument("--no-options", action="store_true", help="skip the speed options")
    parser.add_argument("--variants", default=None,
                        help="comma-separated: only these variants, e.g. default,steps_per_execution=8 "
                             "(default: all)")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--rep-seconds", type=float, default=None)
    parser.add_argument("--warmup", type=int, default=None, help="minimum warm-up steps (more until steady)")
    parser.add_argument("--warmup-seconds", type=float, default=None, help="longest warm-up")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per measurement before it is abandoned")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for the whole run; measurements not started by then are skipped "
                             "(--quick: 270, so that it ends within 5 minutes; 330 more with translation)")
    parser.add_argument("--name", default=None, help="results file name (default: cpu / gpu, or quick)")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing results file's measurements that this run does not repeat "
                             "(each record keeps the commit and date it was measured at)")
    parser.add_argument("--dry-run", action="store_true", help="list the measurements and exit")
    args = parser.parse_args(argv)
    args.timeout_given = args.timeout is not None
    if args.quick:
        args.models = args.models or "vae,wgan_gp"
        args.no_scaling = args.no_options = True
        extra = sum(QUICK_EXTRA_BUDGET.get(model, 0) for model in args.models.split(","))
        defaults = {"reps": 3, "warmup": 1, "warmup_seconds": 10.0, "timeout": 45, "budget": 270 + extra}
        args.steps = 3
        args.out_dir = args.out_dir or _bench.ROOT / "logs" / "benchmarks_quick"
        args.name = args.name or f"quick_{args.device}"
    else:
        defaults = {"reps": 5, "warmup": 3, "warmup_seconds": 60.0, "timeout": 900, "rep_seconds": 3.0}
        args.steps = None
        args.out_dir = args.out_dir or HERE / "results"
        args.name = args.name or args.device
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.models = (args.models or "vae,wgan_gp,cyclegan,translation").split(",")
    args.backends = args.backends or ("tensorflow,jax,torch" if HAVE_TENSORFLOW else "jax,torch")
    unknown = set(args.models) - set(_bench.MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; known: {sorted(_bench.MODELS)}")
    known = {"default", "mixed_bfloat16", "jit_compile=True"} | {v for options in OPTIONS.values() for v, _ in options}
    unknown = set((args.variants or "default").split(",")) - known
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {sorted(known)}")
    return args


def jobs(args):
    """Every measurement of this run, in order: (group, variant, worker arguments)."""
    implementations = set((args.implementations or ",".join(_bench.IMPLEMENTATIONS)).split(","))
    backends = set(args.backends.split(","))
    pairs = [(i, b) for i, b in PAIRS if i in implementations and b in backends]  # a reference runs on its framework
    out = []

    def add(group, variant, model, batch, impl, backend, extra=()):
        if args.variants and variant not in args.variants.split(","):
            return
        argv = ["--impl", impl, "--model", model, "--batch-size", str(batch), "--device", args.device,
                "--reps", str(args.reps), "--warmup", str(args.warmup), "--warmup-seconds", str(args.warmup_seconds)]
        argv += ["--backend", backend] if impl == "zoo" else []
        argv += ["--steps", str(args.steps)] if args.steps else ["--rep-seconds", str(args.rep_seconds)]
        argv += ["--threads", str(args.threads)] if args.threads else []
        timeout = QUICK_TIMEOUT.get(model, args.timeout) if args.quick and not args.timeout_given else args.timeout
        out.append({"group": group, "variant": variant, "argv": argv + list(extra), "timeout": timeout})

    for model in args.models:
        for batch in MAIN_BATCHES[model]:
            for impl, backend in pairs:
                if (impl, model) not in _bench.MISSING_PAIRS:
                    add("main", "default", model, batch, impl, backend)
    if not args.no_scaling:
        for model in (m for m in args.models if m in ("vae", "wgan_gp")):
            for batch in SCALING_BATCHES:
                if batch not in MAIN_BATCHES[model]:
                    for impl, backend in pairs:
                        add("scaling", "default", model, batch, impl, backend)
    if not args.no_options:
        for model in (m for m in args.models if m in ("vae", "wgan_gp")):
            batch = MAIN_BATCHES[model][0]
            for impl, backend in pairs:
                if impl == "zoo":
                    for variant, extra in OPTIONS[backend]:
                        if variant != "tf.data prefetch" or HAVE_TENSORFLOW:
                            add("options", variant, model, batch, impl, backend, extra)
                if impl == "keras_io":
                    add("options", "jit_compile=True", model, batch, impl, backend, ["--jit-compile", "true"])
                if args.device == "gpu" and impl != "jax":
                    add("options", "mixed_bfloat16", model, batch, impl, backend, ["--precision", "mixed_bfloat16"])
    return out


def run_job(job, timeout, skip=None):
    """Run one worker; its record (with the job's group and variant), or a record of why it failed."""
    command = [sys.executable, str(HERE / "worker.py")] + job["argv"]
    start = time.perf_counter()
    try:
        if skip:
            raise RuntimeError(skip)
        proc = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, cwd=_bench.ROOT)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(_bench.RESULT_PREFIX)]
        if proc.returncode == 0 and lines:
            record = json.loads(lines[-1][len(_bench.RESULT_PREFIX):])
        else:
            tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-3:]
            record = {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    except subprocess.TimeoutExpired:
        record = {"error": f"timed out after {timeout:.0f} s"}
    except RuntimeError as reason:
        record = {"error": str(reason)}
    argv = job["argv"]
    value = lambda flag, default=None: argv[argv.index(flag) + 1] if flag in argv else default
    impl = value("--impl")
    record.setdefault("model", value("--model"))
    record.setdefault("impl", impl)
    record.setdefault("backend", value("--backend", _bench.FRAMEWORK.get(impl)))
    record.setdefault("batch_size", int(value("--batch-size")))
    record.update({"group": job["group"], "variant": job["variant"], "wall_seconds": round(time.perf_counter() - start, 1),
                   "command": "python benchmarks/worker.py " + shlex.join(argv)})
    return record


def missing(models):
    """Why some measurements are absent: models the zoo lacks, implementations a model lacks, options this
    machine cannot run."""
    reasons = list(_bench.MISSING_MODELS.values()) + [
        reason for (impl, model), reason in _bench.MISSING_PAIRS.items() if model in models]
    if not HAVE_TENSORFLOW:
        reasons.append("TensorFlow is not installed here: no zoo on TensorFlow, no keras-io step, no tf.data "
                       "prefetch option")
    return reasons


def check_parameters(records):
    """Every implementation of a model must train the same networks: equal parameter counts per network."""
    problems = []
    for model in sorted({r["model"] for r in records}):
        counts = {(r["impl"], r["backend"]): r["params"] for r in records if r["model"] == model and "params" in r}
        if len({json.dumps(c, sort_keys=True) for c in counts.values()}) > 1:
            problems.append(f"{model}: parameter counts differ: {counts}")
    return problems


def key(record):
    return tuple(record.get(k) for k in ("group", "variant", "model", "impl", "backend", "batch_size"))


def merged(path, records):
    """`records` plus the measurements of the results file at `path` that they do not repeat, each stamped with
    the commit and date of the run that made it. A measurement that failed or was skipped this time does not
    replace one that succeeded before."""
    if not path.exists():
        return records
    earlier = json.loads(path.read_text())
    succeeded = {key(r) for r in earlier.get("records", []) if "error" not in r}
    records = [r for r in records if "error" not in r or key(r) not in succeeded]
    new = {key(r) for r in records}
    kept = [{"commit": earlier.get("commit"), "created": earlier.get("created"), **r}
            for r in earlier.get("records", []) if key(r) not in new]
    return kept + records


def gpu_name():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                              check=False, capture_output=True, text=True, timeout=20).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv=None):
    args = parse_args(argv)
    todo = jobs(args)
    if args.dry_run:
        for job in todo:
            print(job["group"], job["variant"], shlex.join(job["argv"]))
        return None
    commit = _bench.git_commit()  # at the start: a long run can outlast later commits
    machine = _bench.machine()
    threads = args.threads or machine["cores_usable"]
    busy = machine["cpu_busy"]
    print(f"{len(todo)} measurements, one process each; {threads} threads; other processes kept "
          f"{100 * busy['share']:.0f}% of the cores busy ({busy['source']}); load average {machine['load_average']}",
          flush=True)
    start = time.perf_counter()
    records = []
    for i, job in enumerate(todo, 1):
        left = None if args.budget is None else args.budget - (time.perf_counter() - start)
        if left is not None and left < 10:
            record = run_job(job, None, skip=f"skipped: the run's --budget of {args.budget:.0f} s was spent")
        else:
            record = run_job(job, job["timeout"] if left is None else min(job["timeout"], left))
        records.append(record)
        status = record.get("error") or (f"fit {record['fit']['steps_per_s']:.2f} steps/s, "
                                         f"step {record['step']['steps_per_s']:.2f} steps/s")
        print(f"[{i}/{len(todo)} {time.perf_counter() - start:5.0f}s] {record['model']} b{record['batch_size']} "
              f"{report.label(record)} {'' if job['variant'] == 'default' else job['variant'] + ' '}: {status}",
              flush=True)
    problems = check_parameters(records)
    summary = {
        "name": args.name, "quick": args.quick, "device": args.device, "gpu": gpu_name() if args.device == "gpu" else None,
        "threads": threads, "commit": commit,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/run.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "machine": machine, "contended": machine["cpu_busy"]["share"] > _bench.BUSY_SHARE,
        "busy_share": _bench.BUSY_SHARE, "wall_seconds": time.perf_counter() - start, "records": records,
        "missing": missing(args.models), "notes": NOTES + problems,
    }
    stem = args.out_dir / args.name
    for record in records:
        record.update(commit=commit, created=summary["created"])
    summary["measured"] = len(records)
    if args.merge:
        summary["records"] = merged(stem.with_suffix(".json"), records)
    report.write(summary, stem)
    print()
    print(report.ratio_table(summary))
    print(f"\nwrote {stem}.json, .md, .png" + (f" -- PROBLEMS: {problems}" if problems else ""))
    if problems:
        raise SystemExit(1)
    return summary


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
