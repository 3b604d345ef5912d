"""One measurement in its own process: one model, one implementation, one backend, one batch size.

    python benchmarks/worker.py --impl zoo --backend jax --model vae
    python benchmarks/worker.py --impl torch --model wgan_gp --batch-size 256 --device gpu

Implementations: `zoo` (any --backend), `keras_io` (TensorFlow), `torch`,
`jax` (hand-written). Prints a human summary on stderr and one JSON line
(prefixed `BENCH_RESULT `) on stdout, which benchmarks/run.py collects.
Thread and device settings are applied before any framework is imported.
"""

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _bench

MODULES = {"zoo": "zoo_step", "keras_io": "reference_keras_tf", "torch": "reference_torch", "jax": "reference_jax"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=_bench.IMPLEMENTATIONS, required=True)
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default=None,
                        help="Keras backend of --impl zoo (the references have their own framework)")
    parser.add_argument("--model", choices=sorted(_bench.MODELS), required=True)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: the model's (vae 128, wgan_gp 64, ...; translation: 32 sentences a language)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="cores to use (default: all this process may use)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="at least this many steps before timing (compilation included), more until steady")
    parser.add_argument("--warmup-seconds", type=float, default=60.0, help="give up waiting for a steady step after")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions; the median and spread are reported")
    parser.add_argument("--rep-seconds", type=float, default=3.0, help="target length of one repetition")
    parser.add_argument("--steps", type=int, default=None, help="steps per repetition (default: from --rep-seconds)")
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--modes", default="step,fit", help="step (compiled step, staged tensors), fit (the user loop)")
    parser.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto",
                        help="Keras implementations: auto = the recipes' choice (XLA on JAX only)")
    parser.add_argument("--steps-per-execution", type=int, default=1, help="Keras implementations (not torch)")
    parser.add_argument("--data", choices=("numpy", "tfdata"), default="numpy",
                        help="Keras implementations: fit on numpy arrays, or on a prefetching tf.data pipeline")
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16", "mixed_float16"), default="float32")
    parser.add_argument("--devices", type=int, default=1,
                        help="the zoo's fit data-parallel on this many devices (zoo.distribute; JAX and TensorFlow; "
                             "--batch-size is the global batch; --modes fit)")
    args = parser.parse_args(argv)
    framework = _bench.FRAMEWORK.get(args.impl)
    if args.impl == "zoo":
        if args.backend is None:
            parser.error("--impl zoo needs --backend tensorflow, jax or torch")
    elif args.backend not in (None, framework):
        parser.error(f"--impl {args.impl} runs on {framework} only")
    args.backend = args.backend or framework
    if (args.impl, args.model) in _bench.MISSING_PAIRS:
        parser.error(f"--impl {args.impl} has no {args.model} step: {_bench.MISSING_PAIRS[args.impl, args.model]}")
    args.batch_size = args.batch_size or _bench.MODELS[args.model]["batch_size"]
    if args.devices != 1 and (args.impl != "zoo" or args.backend == "torch" or args.modes != "fit"):
        parser.error("--devices measures the zoo's fit on JAX or TensorFlow: --impl zoo --modes fit (torch's "
                     "processes come from torchrun, which this harness does not launch)")
    return args


def main(argv=None):
    args = parse_args(argv)
    keras_backend = args.backend if args.impl in ("zoo", "keras_io") else None
    setup = _bench.setup(args.device, args.threads, keras_backend=keras_backend)
    start = time.perf_counter()
    if args.backend in ("tensorflow", "torch"):
        _bench.apply_threads(args.backend, setup["threads"])
    module = importlib.import_module(MODULES[args.impl])
    rss_import = _bench.rss_mb()
    cfg = _bench.MODELS[args.model]
    bench = module.make_bench(args.model, cfg, args)
    startup = time.perf_counter() - start
    cpu_before = _bench.cpu_times()
    timings = _bench.measure(bench, args.batch_size, warmup=args.warmup, warmup_seconds=args.warmup_seconds,
                             reps=args.reps, rep_seconds=args.rep_seconds, steps=args.steps, max_steps=args.max_steps,
                             modes=tuple(args.modes.split(",")))
    cpu_after = _bench.cpu_times()
    record = {
        "model": args.model, "impl": args.impl, "backend": args.backend, "batch_size": args.batch_size,
        "devices": args.devices,
        "device": args.device, "params": bench.params, "settings": bench.settings, "threads": setup["threads"],
        "cores": setup["cores"], "env": setup["env"], "startup_seconds": round(startup, 2),
        "rss_after_import_mb": round(rss_import, 1), "peak_rss_mb": round(_bench.peak_rss_mb(), 1),
        "device_peak_mb": bench.device_peak_mb(), "versions": _versions(args.backend, args.impl),
        "load_average": [round(x, 2) for x in os.getloadavg()], **timings,
        # other processes' share of this process's cores while it measured (None without /proc/stat)
        "cpu_busy": round(_bench.others_busy(cpu_before, cpu_after), 3) if cpu_before and cpu_after else None,
    }
    _bench.emit(record)
    print(_summary(record), file=sys.stderr)
    return record


def _versions(backend, impl):
    versions = {}
    for name in ("keras", backend, "tensorflow" if impl == "keras_io" else None):
        if name and name in sys.modules:
            versions[name] = getattr(sys.modules[name], "__version__", "?")
    return versions


def _summary(r):
    parts = [f"{r['model']} b{r['batch_size']} {r['impl']}/{r['backend']}:"]
    for mode in ("step", "fit"):
        if mode in r:
            m = r[mode]
            parts.append(f"{mode} {m['steps_per_s']:.2f} steps/s [{m['q1']:.2f}-{m['q3']:.2f}]")
    if "input_share" in r:
        parts.append(f"input {100 * r['input_share']:.1f}%")
    parts.append(f"peak RSS {r['peak_rss_mb']:.0f} MB, params {sum(r['params'].values())}")
    return " ".join(parts)


if __name__ == "__main__":
    main()
