"""How long the `zoo` command takes to answer, against Python's and Keras' own start-up, in one run.

`zoo list`, `zoo info` and `zoo --help` import no backend (tests/test_cli.py
checks `sys.modules`); this measures what that buys. Each command runs
`--repeats` times in a fresh process, interleaved so that a busy machine slows
all of them alike; the median wall time is reported, and each as a ratio to
`python -c pass` and to `import keras` on the same backend.

    python benchmarks/cli_startup.py                  # writes benchmarks/results/cli_startup.{json,md}
    python benchmarks/cli_startup.py --repeats 3 --out /tmp/cli
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZOO = [sys.executable, "-m", "zoo.cli"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import zoo": [sys.executable, "-c", "import zoo"],
    "import keras": [sys.executable, "-c", "import keras"],
    "zoo --help": ZOO + ["--help"],
    "zoo list": ZOO + ["list"],
    "zoo info vae_mnist": ZOO + ["info", "vae_mnist"],
    "zoo sample vae_mnist (loads a model)": ZOO + ["sample", "vae_mnist", "--n", "4", "--out", "{tmp}/s.png",
                                                   "--overwrite"],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder for cli_startup.json and cli_startup.md")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    return args


def timed(command, env):
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def main(argv=None):
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KERAS_BACKEND=args.backend, TF_CPP_MIN_LOG_LEVEL="2")
    commands = {name: [part.replace("{tmp}", str(args.out)) for part in command]
                for name, command in COMMANDS.items()}
    seconds = {name: [] for name in commands}
    for _ in range(args.repeats):  # interleaved: a busy moment slows every command, not one
        for name, command in commands.items():
            seconds[name].append(timed(command, env))
    (args.out / "s.png").unlink(missing_ok=True)
    median = {name: statistics.median(times) for name, times in seconds.items()}
    rows = [{"command": name, "median_seconds": round(median[name], 3),
             "runs": [round(t, 3) for t in seconds[name]],
             "x_python": round(median[name] / median["python -c pass"], 2),
             "x_import_keras": round(median[name] / median["import keras"], 3)} for name in commands]
    record = {"backend": args.backend, "repeats": args.repeats, "python": platform.python_version(),
              "machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d"), "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
              "rows": rows}
    (args.out / "cli_startup.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [f"# CLI start-up ({args.backend}, median of {args.repeats} runs, {record['cores']} cores)", "",
             "| command | seconds | x `python -c pass` | x `import keras` |", "|---|---|---|---|"]
    lines += [f"| `{r['command']}` | {r['median_seconds']:.2f} | {r['x_python']:.1f} | {r['x_import_keras']:.2f} |"
              for r in rows]
    (args.out / "cli_startup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
