"""Time to quality: a model's test quality against the wall-clock time spent training it, zoo against PyTorch.

Steps per second (run.py) are not what a user feels; how soon the model is good
is. This script trains one model for a fixed budget of wall-clock minutes and
measures its quality every `--eval-seconds` of training, for the zoo recipe on
each Keras backend and for the hand-written PyTorch loop of reference_torch.py
(the same networks, optimizer, batch and binarization), each run in its own
process. The clock includes compilation and the input pipeline, and stops
while the model is evaluated.

- `vae`: the zoo's `vae_mnist` (Kingma & Welling, "Auto-Encoding Variational
  Bayes", ICLR 2014), Adam(1e-3), batch 128, dynamically binarized MNIST.
  Quality: the test negative ELBO in nats on the 10k test digits binarized
  once with the recipe's seed, by `zoo.metrics.iwae_bound` with k = 1 (Burda
  et al., "Importance Weighted Autoencoders", ICLR 2016); the PyTorch networks
  go through the same function, run by Keras' torch backend.
- `wgan_gp`: the zoo's `gan_wgan_gp_mnist` (Gulrajani et al., "Improved
  Training of Wasserstein GANs", NeurIPS 2017), Adam(1e-4, 0.5, 0.9),
  n_critic 5, batch 64. Quality: `fid_mnistnet`, the Frechet distance of the
  zoo classifier's features (Heusel et al., NeurIPS 2017, with `mnistnet` in
  place of Inception) of 10k samples against the 10k MNIST test images, as
  recipes/gan_mnist.py measures it.

    python benchmarks/time_to_quality.py --model vae                  # PyTorch loop + zoo on 3 backends, 4 min each
    python benchmarks/time_to_quality.py --model wgan_gp --minutes 30 # 30 min each
    python benchmarks/time_to_quality.py --model vae --impl zoo --backends jax   # one run, merged into the results
    python benchmarks/time_to_quality.py --model vae --quick          # seconds; writes under logs/

Writes benchmarks/results/time_to_quality_<model>.{json,md,png}. Runs already
in that JSON are kept unless a new run of the same implementation and
backend replaces them (`--fresh` starts over).
"""

import argparse
import collections
import importlib
import json
import math
import shlex
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import _bench
import report
import run as throughput

from zoo.io import write_atomic

HERE = Path(__file__).resolve().parent
RECIPES = _bench.ROOT / "recipes"
REPORT_AT = 240.0  # the mark: the VAE should reach 95 nats within 4 minutes
SPEEDUP_TARGET = 1.5  # the zoo should reach the PyTorch loop's final quality at least 1.5x sooner
EVAL_SEED = 0  # the ELBO's noise and the GAN's latent codes: the same at every evaluation, in every run
QUALITY = {
    "vae": {"key": "negative_elbo", "name": "test negative ELBO", "unit": "nats", "minutes": 4.0,
            "eval_seconds": 20.0, "eval_size": 10000, "target": 95.0},
    "wgan_gp": {"key": "fid_mnistnet", "name": "fid_mnistnet", "unit": "", "minutes": 30.0,
                "eval_seconds": 120.0, "eval_size": 10000, "target": None},
}
QUICK = {"minutes": 0.05, "eval_seconds": 1.5, "eval_size": 256, "final_size": 64}
# The VAE's last evaluation also estimates the test NLL with the IWAE bound (what the recipe and papers report;
# the curve's k = 1 ELBO is a looser bound). k = 100 on 5000 digits keeps it to seconds on TF, minutes on torch/JAX.
FINAL_NLL = {"k": 100, "size": 5000}
BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(QUALITY), required=True)
    parser.add_argument("--impl", choices=("all", "zoo", "torch"), default="all",
                        help="all: the PyTorch loop and the zoo on each of --backends")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="Keras backends of the zoo runs")
    parser.add_argument("--minutes", type=float, default=None, help="training time of each run (vae 4, wgan_gp 30)")
    parser.add_argument("--eval-seconds", type=float, default=None,
                        help="training seconds between evaluations (vae 20, wgan_gp 120)")
    parser.add_argument("--eval-size", type=int, default=None, help="test images (and samples) per evaluation")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="cores per process (default: all usable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--final-k", type=int, default=FINAL_NLL["k"],
                        help="vae: importance samples of the test NLL of the final weights")
    parser.add_argument("--final-size", type=int, default=None,
                        help=f"vae: test digits of that NLL (default {FINAL_NLL['size']})")
    parser.add_argument("--quick", action="store_true", help="seconds-long runs on a small evaluation set")
    parser.add_argument("--fresh", action="store_true", help="drop the runs of an earlier results file")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before a run is abandoned (default: twice its budget + 15 minutes)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # impl:backend, run in this process
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = {**QUALITY[args.model], **(QUICK if args.quick else {})}
    for key in ("minutes", "eval_seconds", "eval_size"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    if args.minutes <= 0 or args.eval_seconds <= 0:
        parser.error(f"--minutes and --eval-seconds must be positive; got {args.minutes} and {args.eval_seconds}")
    if not 2 <= args.eval_size <= 10000:
        parser.error(f"--eval-size must be between 2 and 10000 (the MNIST test set); got {args.eval_size}")
    if args.final_size is None:
        args.final_size = min(args.eval_size, QUICK["final_size"] if args.quick else FINAL_NLL["size"])
    if args.final_k < 1 or not 1 <= args.final_size <= args.eval_size:
        parser.error(f"--final-k must be >= 1 and --final-size between 1 and --eval-size ({args.eval_size}); "
                     f"got {args.final_k} and {args.final_size}")
    backends = [b for b in args.backends.split(",") if b]
    unknown = set(backends) - set(BACKENDS)
    if unknown or not backends:
        parser.error(f"--backends must name some of {', '.join(BACKENDS)}; got {args.backends!r}")
    args.runs = ([("torch", "torch")] if args.impl in ("all", "torch") else []) + (
        [("zoo", b) for b in backends] if args.impl in ("all", "zoo") else [])
    args.out_dir = args.out_dir or (_bench.ROOT / "logs" / "time_to_quality_quick" if args.quick else HERE / "results")
    args.timeout = args.timeout or 2 * 60 * args.minutes + 900
    return args


def marks(minutes, eval_seconds):
    """Training seconds at which to evaluate: every `eval_seconds`, at 4 minutes, and at the end."""
    end = 60.0 * minutes
    points = {eval_seconds * i for i in range(1, int(end / eval_seconds) + 1)} | {end}
    if REPORT_AT < end:
        points.add(REPORT_AT)
    return sorted(p for p in points if p <= end)


# One run, in its own process -------------------------------------------------------------------

class Clock:
    """Training seconds: the wall clock, stopped while the model is evaluated."""

    def __init__(self):
        self.elapsed, self.started = 0.0, None

    def start(self):
        self.started = time.perf_counter()

    def stop(self):
        self.elapsed += time.perf_counter() - self.started
        self.started = None

    @property
    def seconds(self):
        return self.elapsed + (time.perf_counter() - self.started if self.started is not None else 0.0)


class Curve:
    """The metric against training time: evaluates at step 0, then after the first step past each mark."""

    def __init__(self, evaluate, marks, record, out=None):
        self.evaluate, self.marks, self.record, self.out = evaluate, list(marks), record, out
        self.clock, self.steps = Clock(), 0
        record.update(curve=[], eval_wall_seconds=[], finished=False)

    def point(self):
        start = time.perf_counter()
        value = float(self.evaluate())
        took = time.perf_counter() - start
        seconds = self.clock.seconds
        self.record["curve"].append([round(seconds, 3), self.steps, value if math.isfinite(value) else None])
        self.record["eval_wall_seconds"].append(round(took, 2))
        self.record.update(train_seconds=round(seconds, 3), steps=self.steps,
                           steps_per_s=self.steps / seconds if seconds > 0 else None)
        print(f"[{self.record['label']}] {seconds:7.1f} s, {self.steps:6d} steps: {self.record['metric']} "
              f"{value:.3f} (evaluated in {took:.1f} s)", file=sys.stderr, flush=True)
        if self.out:  # a long run that dies later keeps what it measured
            write_atomic(self.out, json.dumps(self.record, indent=2, sort_keys=True) + "\n")

    def start(self):
        self.point()
        self.clock.start()

    def step(self, sync):
        """After each training step; True once the time budget is spent. `sync()` waits for the device."""
        self.steps += 1
        if self.clock.seconds < self.marks[0]:
            return False
        sync()
        self.clock.stop()
        while self.marks and self.clock.seconds >= self.marks[0]:
            self.marks.pop(0)
        self.point()
        if not self.marks:
            self.record["finished"] = True
            return True
        self.clock.start()
        return False


def _load_recipe(name):
    if str(RECIPES) not in sys.path:
        sys.path.insert(0, str(RECIPES))
    return importlib.import_module(name)


def load_data(model_name, eval_size):
    """MNIST train images, and what each evaluation needs: the binarized test digits, or the test images."""
    if model_name == "vae":  # the recipe's fixed binarization of the test set
        x_train, _, x_test_binary = _load_recipe("vae_mnist").load_data(quick=False)
        return x_train, x_test_binary[:eval_size]
    import zoo.data

    x_train, _ = zoo.data.load("mnist", "train")
    x_test, _ = zoo.data.load("mnist", "test")
    return x_train, x_test[:eval_size]


def fid_against(x_test):
    """`fid_mnistnet(sample)` as recipes/gan_mnist.py computes it: `sample(n, seed)` against `x_test`'s features."""
    import numpy as np

    import zoo
    from zoo.metrics import frechet_distance

    classifier = zoo.load("mnistnet", compile=False)
    real = classifier.features(x_test)

    def fid(sample):
        fake = sample(len(x_test), EVAL_SEED)
        if not np.all(np.isfinite(fake)):  # a diverged generator: no distance, the curve records None
            return float("nan")
        return frechet_distance(real, classifier.features(fake))

    return fid


def zoo_run(args, cfg, backend, record):
    """The registry's model, compiled as its recipe does, trained by `fit` on the numpy arrays."""
    import keras
    from keras_harness import check_device
    from zoo_step import build, parameter_counts

    check_device(args.device)
    keras.utils.set_random_seed(args.seed)
    common = _load_recipe("_common")
    x_train, x_eval = load_data(args.model, args.eval_size)
    model = build(args.model, cfg, jit_compile="true" if common.jit_compile() else "false")
    if args.model == "vae":
        from zoo.metrics import iwae_nll

        nll = lambda x, k: iwae_nll(model, x, k=k, seed=EVAL_SEED)
        evaluate = lambda: nll(x_eval, 1)  # k = 1: the ELBO, as the recipe reports
    else:
        fid = fid_against(x_eval)
        evaluate = lambda: fid(lambda n, seed: model.sample(n, seed=seed))
    record.update(params=parameter_counts(args.model, model),
                  settings={"jit_compile": bool(model.jit_compile), "data": "numpy arrays, fit(shuffle=True)"})
    curve = Curve(_inference(backend, evaluate), marks(args.minutes, args.eval_seconds), record, args.worker_out)

    class Clocked(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            def sync():  # the step's results are computed; on JAX, `self.model` puts the state into the variables
                [float(value) for value in (logs or {}).values()]
                return self.model

            if curve.step(sync):
                self.model.stop_training = True

    curve.start()
    model.fit(x_train, batch_size=cfg["batch_size"], epochs=10**6, shuffle=True, verbose=0, callbacks=[Clocked()])
    if args.model == "vae":
        final_nll(args, record, _inference(backend, lambda: nll(x_eval[:args.final_size], args.final_k)))
    return curve


def final_nll(args, record, evaluate):
    """The VAE's test NLL (IWAE bound, `--final-k` samples) of the final weights, outside the training clock."""
    start = time.perf_counter()
    value = float(evaluate())
    took = time.perf_counter() - start
    record["final_nll"] = {"k": args.final_k, "size": args.final_size, "value": value,
                           "eval_wall_seconds": round(took, 2)}
    record["eval_wall_seconds"].append(round(took, 2))  # startup_seconds leaves it out, as every evaluation
    print(f"[{record['label']}] final test NLL (IWAE, k = {args.final_k}, {args.final_size} digits): {value:.3f} "
          f"(evaluated in {took:.1f} s)", file=sys.stderr, flush=True)


def _inference(backend, evaluate):
    """Evaluation without autograd bookkeeping on torch (the zoo's metrics call the networks eagerly)."""
    if backend != "torch":
        return evaluate
    import torch

    def run():
        with torch.no_grad():
            return evaluate()

    return run


def torch_run(args, cfg, record):
    """reference_torch.py's networks and step, in a plain loop over shuffled slices of the numpy arrays."""
    import contextlib

    import numpy as np
    import torch
    from reference_torch import NETS, STEPS, _count

    if args.device == "gpu" and not torch.cuda.is_available():
        raise SystemExit("--device gpu: PyTorch sees no CUDA device")
    device = torch.device("cuda" if args.device == "gpu" else "cpu")
    torch.manual_seed(args.seed)
    x_train, x_eval = load_data(args.model, args.eval_size)
    x_train = np.ascontiguousarray(x_train.transpose(0, 3, 1, 2))  # NCHW, as a PyTorch user keeps it
    nets = {name: net.to(device).train() for name, net in NETS[args.model](cfg).items()}
    step = STEPS[args.model](nets, cfg, contextlib.nullcontext)
    if args.model == "vae":
        from zoo.metrics import iwae_bound

        to_nchw = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device).permute(0, 3, 1, 2)
        encode = lambda x: nets["encoder"](to_nchw(x))
        decode = lambda z: nets["decoder"](torch.from_numpy(z).to(device)).permute(0, 2, 3, 1)  # NHWC logits
        nll = lambda x, k: -iwae_bound(encode, decode, x, k=k, seed=EVAL_SEED).mean()
        evaluate = lambda: nll(x_eval, 1)
    else:
        fid = fid_against(x_eval)
        generator = nets["generator"]

        def sample(n, seed):  # as GAN.sample: numpy noise, BatchNorm with its moving statistics
            z = np.random.default_rng(seed).standard_normal((n, cfg["latent_dim"])).astype("float32")
            generator.eval()
            images = [generator(torch.from_numpy(z[i:i + 1000]).to(device)) for i in range(0, n, 1000)]
            generator.train()
            return torch.cat(images).permute(0, 2, 3, 1).cpu().numpy()

        evaluate = lambda: fid(sample)
    record.update(params={name: _count(net) for name, net in nets.items()},
                  settings={"layout": "NCHW", "mode": "eager", "data": "numpy slices of a fresh permutation"})
    curve = Curve(_inference("torch", evaluate), marks(args.minutes, args.eval_seconds), record, args.worker_out)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rng = np.random.default_rng(args.seed)
    batch = cfg["batch_size"]
    curve.start()
    while True:
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch):  # the last, smaller batch too, as fit does
            step(torch.from_numpy(x_train[order[start:start + batch]]).to(device, non_blocking=True))
            if curve.step(sync):
                if args.model == "vae":
                    final_nll(args, record, _inference("torch", lambda: nll(x_eval[:args.final_size], args.final_k)))
                return curve


def worker(args):
    impl, backend = args.worker.split(":")
    setup = _bench.setup(args.device, args.threads, keras_backend=backend)  # the PyTorch loop: Keras on torch
    start = time.perf_counter()
    _bench.apply_threads(backend, setup["threads"])
    cfg = _bench.MODELS[args.model]
    record = {
        "model": args.model, "impl": impl, "backend": backend, "label": label(impl, backend), "device": args.device,
        "metric": QUALITY[args.model]["key"], "batch_size": cfg["batch_size"], "minutes": args.minutes,
        "eval_seconds": args.eval_seconds, "eval_size": args.eval_size, "seed": args.seed, "quick": args.quick,
        "threads": setup["threads"], "cores": setup["cores"], "commit": _bench.git_commit(),
        "machine": _bench.machine(), "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    run = (lambda: torch_run(args, cfg, record)) if impl == "torch" else (lambda: zoo_run(args, cfg, backend, record))
    curve = run()
    record["startup_seconds"] = round(time.perf_counter() - start - curve.clock.seconds  # imports, data, building
                                      - sum(record["eval_wall_seconds"]), 1)
    record["versions"] = {name: getattr(sys.modules[name], "__version__", "?")
                          for name in ("keras", "tensorflow", "jax", "torch") if name in sys.modules}
    write_atomic(args.worker_out, json.dumps(record, indent=2, sort_keys=True) + "\n")


# The runs, their curves, the report -------------------------------------------------------------

def label(impl, backend):
    return "PyTorch loop" if impl == "torch" else f"zoo {backend}"


def run_one(args, impl, backend, argv):
    """One run in its own process; its record, or what it measured before it failed, with the error."""
    runs_dir = args.out_dir / "runs" if args.quick else _bench.ROOT / "logs" / "time_to_quality_runs"
    out = runs_dir / f"time_to_quality_{args.model}_{impl}_{backend}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker", f"{impl}:{backend}",
               "--worker-out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=_bench.ROOT)
    timer = threading.Timer(args.timeout, proc.kill)
    timer.start()
    tail = collections.deque(maxlen=3)
    for line in proc.stderr:  # the worker's progress lines, as they come
        if line.startswith(f"[{label(impl, backend)}]"):
            print(line, end="", flush=True)
        if line.strip():
            tail.append(line.strip())
    timed_out = not timer.is_alive()
    timer.cancel()
    error = None
    if proc.wait() != 0:
        error = f"timed out after {args.timeout:.0f} s" if timed_out else f"exit {proc.returncode}: " + " | ".join(tail)
    record = json.loads(out.read_text()) if out.exists() else {"model": args.model, "impl": impl, "backend": backend,
                                                               "label": label(impl, backend), "curve": []}
    if error or not record.get("finished"):
        record["error"] = error or "the run ended before its time budget was spent"
    record.update(wall_seconds=round(time.perf_counter() - start, 1),
                  command="python benchmarks/time_to_quality.py " + shlex.join(argv))
    return record


def first_reaching(curve, value):
    """Training seconds of the first evaluation at or below `value` (lower is better), or None."""
    return next((s for s, _, m in curve if m is not None and m <= value), None)


def at_or_after(curve, seconds):
    """The first evaluation at or after `seconds` of training: (seconds, steps, metric), or None."""
    return next((point for point in curve if point[0] >= seconds), None)


def final(curve):
    return curve[-1] if curve else None


def rows(summary):
    """Per run: the metric at the start, at 4 minutes and at the end; when it reaches the PyTorch loop's final
    quality (and the speed-up against the loop's length) and the target (VAE: 95 nats)."""
    runs = summary["runs"]
    reference = next((r for r in runs if r["impl"] == "torch" and r.get("curve") and not r.get("error")), None)
    ref_end = final(reference["curve"]) if reference else None
    target = QUALITY[summary["model"]]["target"]
    out = []
    for r in runs:
        curve = r.get("curve") or []
        row = {"label": r["label"], "impl": r["impl"], "backend": r["backend"], "commit": r.get("commit"),
               "minutes": r.get("minutes"),
               "steps": curve[-1][1] if curve else None, "steps_per_s": r.get("steps_per_s"),
               "start": curve[0] if curve else None, "at_report": at_or_after(curve, REPORT_AT),
               "end": final(curve), "final_nll": r.get("final_nll"), "error": r.get("error")}
        if ref_end and ref_end[2] is not None:
            row["to_reference"] = first_reaching(curve, ref_end[2])
            row["speedup"] = ref_end[0] / row["to_reference"] if row["to_reference"] else None
        if target is not None:
            row["to_target"] = first_reaching(curve, target)
        out.append(row)
    return out


def _f(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def _speedup(value):
    """Two decimals, or four where two would round a speed-up to the target from either side (1.4998 is not
    1.50: the target is not met)."""
    if value is None:
        return "-"
    close = round(value, 2) == SPEEDUP_TARGET and value != SPEEDUP_TARGET
    return _f(value, 4 if close else 2)


def _point(point, digits=2):
    return "-" if point is None else f"{_f(point[2], digits)} ({point[0]:.0f} s)"


def markdown(summary):
    quality = QUALITY[summary["model"]]
    metric = quality["name"] + (f", {quality['unit']}" if quality["unit"] else "")
    machine = summary["machine"]
    table = summary["rows"]
    reference = next((row for row in table if row["impl"] == "torch" and row["end"] and not row["error"]), None)
    lines = [
        f"# Time to quality: {summary['model']} ({metric}, lower is better)",
        "",
        f"Report built at commit `{summary['commit']}`, {summary['created']}, `{summary['command']}`.",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores_usable']} usable cores, {machine['memory_gb']} GB, "
         f"{machine['os']}, Python {machine['python']}; device `{summary['device']}`. Load average at the start: "
         f"{machine['load_average']}."),
        "",
        ("Each run trains for its budget of wall-clock minutes in its own process and is evaluated at the start "
         "and after the first step past every evaluation mark; the clock includes compilation and the input "
         "pipeline and stops while the model is evaluated. Seconds are training seconds. "
         + _method(summary["model"])),
        "",
    ]
    if summary.get("quick"):
        lines += ["**Quick run**: seconds of training on a small evaluation set. It shows that every run trains "
                  "and is measured; its numbers are not the time to quality.", ""]
    header = ["Run", "Commit", "Steps", "Steps/s", "Start", f"At {REPORT_AT / 60:.0f} min", "End"]
    if reference:
        ref_end = reference["end"]  # (seconds, steps, metric)
        header += [f"Time to the PyTorch loop's final {_f(ref_end[2])}",
                   f"Speed-up (target >= {SPEEDUP_TARGET})"]
    if quality["target"] is not None:
        header.append(f"Time to {quality['target']:g} {quality['unit']}")
    nll = _final_nll_setting(table)
    if nll:
        header.append(f"Test NLL at the end (IWAE, k = {nll[0]}, {nll[1]} digits)")
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table:
        cells = [row["label"], f"`{row['commit']}`", str(row["steps"] or "-"), _f(row["steps_per_s"]),
                 _point(row["start"]), _point(row["at_report"]), _point(row["end"])]
        if reference:
            speedup = row.get("speedup")
            mark = "" if speedup is None or row["impl"] == "torch" else (
                " ok" if speedup >= SPEEDUP_TARGET else " **below**")
            cells += [_seconds(row.get("to_reference")), _speedup(speedup) + mark if row["impl"] != "torch" else "(itself)"]
        if quality["target"] is not None:
            cells.append(_seconds(row.get("to_target")))
        if nll:
            cells.append(_f((row.get("final_nll") or {}).get("value")))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + _verdicts(summary) + _problems(summary)
    return "\n".join(lines) + "\n"


def _final_nll_setting(table):
    """(k, digits) of the runs' final test NLL, or None when no run has one."""
    settings = {(r["final_nll"]["k"], r["final_nll"]["size"]) for r in table if r.get("final_nll")}
    if len(settings) > 1:
        raise ValueError(f"the runs estimate the final NLL differently: {sorted(settings)}; rerun them alike")
    return settings.pop() if settings else None


def _seconds(value):
    return "not reached" if value is None else f"{value:.0f} s"


def _method(model):
    if model == "vae":
        return ("Metric: the negative ELBO (`zoo.metrics.iwae_bound`, k = 1, fixed noise) of the MNIST test digits "
                "binarized once with recipes/vae_mnist.py's seed; the PyTorch networks go through the same function "
                "on Keras' torch backend. Times are those of the first evaluation at or below the value, so they "
                "are upper bounds within one evaluation interval.")
    return ("Metric: `fid_mnistnet` of samples from fixed latent codes against as many MNIST test images "
            "(zoo.metrics.frechet_distance of `mnistnet` features, as recipes/gan_mnist.py computes it); the "
            "PyTorch generator's samples go through the same classifier on Keras' torch backend. Times are "
            "those of the first evaluation at or below the value, so they are upper bounds within one "
            "evaluation interval.")


def _verdicts(summary):
    quality = QUALITY[summary["model"]]
    zoo_rows = [row for row in summary["rows"] if row["impl"] == "zoo"]
    lines = []
    speedups = [(row["speedup"], row["label"]) for row in zoo_rows if row.get("speedup")]
    if any(row["impl"] == "torch" for row in summary["rows"]):
        if speedups:
            best, who = max(speedups)
            verdict = "met" if best >= SPEEDUP_TARGET else "not met"
            lines.append(f"- Target: the zoo reaches the PyTorch loop's final quality at least {SPEEDUP_TARGET}x "
                         f"sooner on its best backend: **{verdict}** ({who}: {_speedup(best)}x).")
        elif zoo_rows:
            lines.append("- Target: the zoo reaches the PyTorch loop's final quality at least "
                         f"{SPEEDUP_TARGET}x sooner: **not met** (no zoo run reached it).")
    if quality["target"] is not None and zoo_rows:
        goal = f"{quality['target']:g} {quality['unit']} within {REPORT_AT / 60:.0f} minutes on the best backend"
        reached = sorted((row["to_target"], row["label"]) for row in zoo_rows if row.get("to_target") is not None)
        if reached and reached[0][0] <= REPORT_AT:
            lines.append(f"- Target: {goal}: **met** ({reached[0][1]}: {reached[0][0]:.0f} s).")
        else:
            at = sorted((row["at_report"][2], row["label"]) for row in zoo_rows
                        if row["at_report"] and row["at_report"][2] is not None)
            lines.append(f"- Target: {goal}: **not met**" + (
                f" (best at {REPORT_AT / 60:.0f} minutes: {at[0][1]}, {at[0][0]:.2f})." if at else
                f" (no zoo run trained for {REPORT_AT / 60:.0f} minutes)."))
        lines += _nll_verdict(summary, zoo_rows)
    return lines


def _nll_verdict(summary, zoo_rows):
    """The same target on the test NLL (the IWAE estimate papers report), for runs of exactly 4 minutes."""
    quality = QUALITY[summary["model"]]
    ends = sorted((row["final_nll"]["value"], row["label"]) for row in zoo_rows
                  if row.get("final_nll") and row.get("minutes") == REPORT_AT / 60)
    if not ends:
        return []
    (value, who), setting = ends[0], _final_nll_setting(zoo_rows)
    verdict = "met" if value <= quality["target"] else "not met"
    loop = next((row["final_nll"]["value"] for row in summary["rows"]
                 if row["impl"] == "torch" and row.get("final_nll")), None)
    return [f"- The same target on the test NLL (IWAE bound, k = {setting[0]}, first {setting[1]} test digits) of "
            f"the weights after {REPORT_AT / 60:.0f} minutes: **{verdict}** ({who}: {value:.2f} nats"
            + (f"; the PyTorch loop: {loop:.2f}" if loop is not None else "") + "). The curves' k = 1 ELBO is a "
            "looser bound than the NLL that papers and VAE libraries report."]


def _problems(summary):
    lines = [f"- {r['label']} failed or stopped early: {r['error']}" for r in summary["runs"] if r.get("error")]
    lines += [f"- {problem}" for problem in summary.get("problems", [])]
    # Other processes' CPU share, sampled from /proc/stat when the script began (older records kept only the
    # load average, which lags a finished run by minutes and is not used).
    busy = [f"{r['label']} ({100 * r['invocation_cpu_busy']:.0f}%)" for r in summary["runs"]
            if r.get("invocation_cpu_busy") is not None and r["invocation_cpu_busy"] > _bench.BUSY_SHARE]
    if busy:
        lines.append(f"- Started on a busy machine (other processes kept more than {100 * _bench.BUSY_SHARE:.0f}% "
                     "of the cores busy when the script began): "
                     f"{', '.join(busy)}; other processes shared the cores, so these runs are slower than on a "
                     "quiet machine.")
    machines = {(r.get("machine") or {}).get("cpu") for r in summary["runs"]} | {None}
    if len(machines) > 2 or len({r.get("device") for r in summary["runs"]}) > 1:
        lines.append("- The runs come from different machines or devices: compare the curves with care.")
    return ["", "## Problems", ""] + lines if lines else []


# The plot -------------------------------------------------------------------------------------

def _ticks(low, high, count=6):
    """Round tick values covering [low, high]."""
    raw = max(high - low, 1e-9) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _dashed(draw, p, q, fill, width=2, dash=7, gap=5):
    length = math.hypot(q[0] - p[0], q[1] - p[1])
    position = 0.0
    while position < length:
        end = min(position + dash, length)
        a, b = position / length, end / length
        draw.line((p[0] + a * (q[0] - p[0]), p[1] + a * (q[1] - p[1]),
                   p[0] + b * (q[0] - p[0]), p[1] + b * (q[1] - p[1])), fill=fill, width=width)
        position = end + gap


def _clip(p, q, top, bottom):
    """The part of segment p-q between pixel rows `top` and `bottom` (None if it has none)."""
    (x0, y0), (x1, y1) = p, q
    for limit, outside in ((top, lambda y: y < top), (bottom, lambda y: y > bottom)):
        if outside(y0) and outside(y1):
            return None
        if outside(y0) or outside(y1):
            t = (limit - y0) / (y1 - y0)
            cut = (x0 + t * (x1 - x0), limit)
            (x0, y0), (x1, y1) = ((cut, (x1, y1)) if outside(y0) else ((x0, y0), cut))
    return (x0, y0), (x1, y1)


def plot(summary, path):
    """The metric against training time, one line per run: solid the zoo per backend, dashed the PyTorch loop."""
    runs = [r for r in summary["runs"] if r.get("curve")]
    if not runs:
        return None
    quality = QUALITY[summary["model"]]
    width, height, left, right, top, bottom = 960, 560, 80, 230, 70, 60
    metric = quality["name"] + (f" ({quality['unit']})" if quality["unit"] else "")
    image, draw, font, small = report.canvas(
        width, height, f"Time to quality: {summary['model']}, {metric} against training seconds ({summary['device']})",
        "lower is better; evaluation time excluded; solid: the zoo on each Keras backend, dashed: the PyTorch loop")
    x_end = max(p[0] for r in runs for p in r["curve"]) or 1.0
    in_minutes = x_end > 180
    trained = [p[2] for r in runs for p in r["curve"] if p[2] is not None and p[1] > 0]
    values = trained or [p[2] for r in runs for p in r["curve"] if p[2] is not None] or [0.0, 1.0]
    lines_at = [(quality["target"], f"target {quality['target']:g}")] if quality["target"] is not None else []
    reference = next((row for row in summary["rows"] if row["impl"] == "torch" and row["end"] and not row["error"]),
                     None)
    if reference and reference["end"][2] is not None:
        lines_at.append((reference["end"][2], f"PyTorch final {reference['end'][2]:.1f}"))
    low = min(values + [v for v, _ in lines_at])
    high = max(values + [v for v, _ in lines_at])
    pad = 0.05 * (high - low or abs(high) or 1.0)
    low, high = low - pad, high + pad
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    px = lambda s: x0 + (x1 - x0) * s / x_end
    py = lambda v: y1 - (y1 - y0) * (v - low) / (high - low)
    draw.rectangle((x0, y0, x1, y1), outline="black")
    for v in _ticks(low, high):
        draw.line((x0 - 4, py(v), x0, py(v)), fill="black")
        draw.line((x0 + 1, py(v), x1 - 1, py(v)), fill=(235, 235, 235))
        draw.text((x0 - 8, py(v)), f"{v:g}", fill="black", font=small, anchor="rm")
    scale = 60.0 if in_minutes else 1.0
    for t in _ticks(0.0, x_end / scale):
        draw.line((px(t * scale), y1, px(t * scale), y1 + 4), fill="black")
        draw.text((px(t * scale), y1 + 8), f"{t:g}", fill="black", font=small, anchor="mt")
    draw.text(((x0 + x1) / 2, y1 + 28), "training minutes" if in_minutes else "training seconds", fill="black",
              font=font, anchor="mt")
    for value, name in lines_at:
        _dashed(draw, (x0, py(value)), (x1, py(value)), fill=(120, 120, 120), width=1, dash=3, gap=4)
        draw.text((x1 + 6, py(value)), name, fill=(90, 90, 90), font=small, anchor="lm")
    clipped = False
    for i, r in enumerate(sorted(runs, key=lambda r: (r["impl"] != "torch", r["backend"]))):
        colour = report.COLOURS.get(r["backend"], (0, 0, 0))
        points = [(px(s), py(m)) for s, _, m in r["curve"] if m is not None]
        for p, q in zip(points, points[1:]):
            segment = _clip(p, q, y0, y1)
            clipped |= segment != (p, q)
            if segment and r["impl"] == "torch":
                _dashed(draw, *segment, fill=colour)
            elif segment:
                draw.line(segment[0] + segment[1], fill=colour, width=2)
        for x, y in points:
            if y0 <= y <= y1:
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
        ly = y0 + 60 + 22 * i
        if r["impl"] == "torch":
            _dashed(draw, (x1 + 10, ly), (x1 + 40, ly), fill=colour)
        else:
            draw.line((x1 + 10, ly, x1 + 40, ly), fill=colour, width=2)
        draw.text((x1 + 48, ly), r["label"], fill="black", font=small, anchor="lm")
    if clipped:
        draw.text((x0 + 6, y0 + 4), "the untrained start is above the scale (see the table)", fill=(90, 90, 90),
                  font=small)
    return report.save_png(image, path)


def write(summary, stem):
    """`<stem>.json`, `<stem>.md` and `<stem>.png`; returns the markdown."""
    stem = Path(stem)
    summary["rows"] = rows(summary)
    write_atomic(stem.with_suffix(".json"), json.dumps(summary, indent=2, sort_keys=True) + "\n")
    text = markdown(summary)
    write_atomic(stem.with_suffix(".md"), text)
    plot(summary, stem.with_suffix(".png"))
    return text


def _check_final_nll_settings(args, earlier):
    """One report holds one NLL estimate: stop before training if a kept run used another k or size."""
    new = set(args.runs)
    differ = [r["label"] for r in earlier if (r["impl"], r["backend"]) not in new and r.get("final_nll")
              and (r["final_nll"]["k"], r["final_nll"]["size"]) != (args.final_k, args.final_size)]
    if differ:
        raise SystemExit(f"the kept runs {', '.join(differ)} estimated the final NLL with another k or number of "
                         f"digits than --final-k {args.final_k} --final-size {args.final_size}; rerun them too, "
                         "or pass --fresh")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    stem = args.out_dir / f"time_to_quality_{args.model}"
    earlier = [] if args.fresh or not stem.with_suffix(".json").exists() else \
        json.loads(stem.with_suffix(".json").read_text()).get("runs", [])
    _check_final_nll_settings(args, earlier)
    commit = _bench.git_commit()  # at the start: the runs can outlast later commits
    machine = _bench.machine()
    print(f"{len(args.runs)} runs of {args.minutes:g} training minutes each (evaluation every {args.eval_seconds:g} s "
          f"on {args.eval_size} images), one process each; other processes kept "
          f"{100 * machine['cpu_busy']['share']:.0f}% of the cores busy", flush=True)
    records = []
    for impl, backend in args.runs:
        record = run_one(args, impl, backend, argv)
        record["invocation_cpu_busy"] = machine["cpu_busy"]["share"]  # a run's own start sees the previous run
        records.append(record)
        end = final(record.get("curve"))
        print(f"{record['label']}: " + (record.get("error") or "") + (
            f" {record['metric']} {_f(end[2])} after {end[0]:.0f} s, {end[1]} steps" if end else ""), flush=True)
    new = {(r["impl"], r["backend"]) for r in records}
    kept = [r for r in earlier if (r["impl"], r["backend"]) not in new]
    if kept:
        print(f"kept from {stem.with_suffix('.json')}: " + ", ".join(r["label"] for r in kept), flush=True)
    runs = sorted(kept + records, key=lambda r: (r["impl"] != "torch", BACKENDS.index(r["backend"])))
    summary = {
        "model": args.model, "metric": QUALITY[args.model]["key"], "unit": QUALITY[args.model]["unit"],
        "quick": args.quick, "device": args.device, "commit": commit, "machine": machine,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/time_to_quality.py " + shlex.join(argv),
        "targets": {"speedup": SPEEDUP_TARGET, "report_at_seconds": REPORT_AT, "value": QUALITY[args.model]["target"]},
        "runs": runs, "problems": throughput.check_parameters(runs),
    }
    text = write(summary, stem)
    print("\n" + text[text.index("| Run"):].rstrip())
    print(f"\nwrote {stem}.json, .md, .png")
    if any(r.get("error") for r in records) or summary["problems"]:
        raise SystemExit(1)
    return summary


if __name__ == "__main__":
    main()
