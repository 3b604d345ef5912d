"""Recipe: every GAN loss on MNIST under the same budget, in one table.

Trains `recipes/gan_mnist.py` for each loss with the same epochs and batch
size (so the same number of generator updates; a loss with n_critic = 5 spends
five critic updates per generator update, as its paper does), then writes
`results/gan_compare.json` and `results/gan_compare.md`. With `--collect` it
only tabulates existing `results/gan_<loss>_mnist.json` files, and refuses to
mix runs of different budgets. Runs outside the budget get a table of their
own below it: `dcgan_mnist` (larger networks trained longer,
`recipes/gan_mnist.py --name dcgan_mnist`), and the losses that the budget
leaves short of digits trained longer (`--loss wgan --epochs 25 --out
logs/gan_beyond/gan_wgan_mnist --results results/gan_wgan_mnist_25_epochs.json`;
their checkpoints are not bundled, so `--out` keeps the bundled one).

    python recipes/gan_compare.py --epochs 5
    python recipes/gan_compare.py --collect
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common  # noqa: E402
import gan_mnist  # noqa: E402
from zoo.models.gan import LOSSES  # noqa: E402

COLUMNS = ("fid_mnistnet", "precision", "recall", "class_kl")
# Results files (results/<name>.json) of runs with other networks or budgets, shown in their own table.
BEYOND_BUDGET = ("dcgan_mnist", "gan_wgan_mnist_25_epochs", "gan_dragan_mnist_20_epochs")


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--losses", nargs="+", choices=LOSSES, default=list(LOSSES))
    parser.add_argument("--collect", action="store_true", help="tabulate existing results; train nothing")
    return parser.parse_args(argv)


def _values(run):
    """The metric cells, then fid_mnistnet with the training's moving BatchNorm averages ("-": not measured)."""
    standing = run.get("standing_statistics") or {}
    before = standing.get("moving_average_metrics", {})
    moving = before.get("fid_mnistnet", before.get("fid"))  # "fid": runs recorded before the metric keys were
    return " | ".join(f"{run['metrics'][c]:.4g}" for c in COLUMNS) + f" | {'-' if moving is None else f'{moving:.4g}'}"


STANDING_NOTE = ("Samples come from the generator with standing statistics (`GAN.set_standing_statistics`: its "
                 "BatchNorm statistics averaged over fresh training-mode batches after training; Brock et al. "
                 "2019); the last fid column is what the training's moving averages gave (BEGAN's generator has no "
                 "BatchNorm).")


def table(runs, floor):
    lines = [
        f"GAN losses on MNIST, same budget: {runs[0]['epochs']} epochs of batch {runs[0]['batch_size']} "
        f"({runs[0]['generator_steps']} generator updates), backend {runs[0]['backend']}. "
        f"fid_mnistnet floor (real test vs real train): {floor}. Lower fid and class_kl are better; "
        "fid_mnistnet is not Inception-FID. " + STANDING_NOTE,
        "",
        "| loss | n_critic | " + " | ".join(COLUMNS) + " | fid, moving averages | train seconds | samples |",
        "|---|---|" + "---|" * len(COLUMNS) + "---|---|---|",
    ]
    for run in sorted(runs, key=lambda r: r["metrics"]["fid_mnistnet"]):
        lines.append(f"| {run['loss']} | {run['n_critic']} | {_values(run)} | {run['train_seconds']:.0f} | "
                     f"![{run['loss']}]({run['picture']}) |")
    return "\n".join(lines) + "\n"


def beyond_budget_table(runs):
    """The runs outside the comparison's budget: their own networks, epochs and commands."""
    lines = [
        "",
        "Outside the budget (other networks or more epochs; same data, samples and metrics):",
        "",
        "| entry | loss | epochs | generator updates | " + " | ".join(COLUMNS)
        + " | fid, moving averages | train seconds | command |",
        "|---|---|---|---|" + "---|" * len(COLUMNS) + "---|---|---|",
    ]
    for run in runs:
        lines.append(f"| [{run['name']}]({run['picture']}) | {run['loss']} | {run['epochs']} | "
                     f"{run['generator_steps']} | {_values(run)} | {run['train_seconds']:.0f} | `{run['command']}` |")
    return "\n".join(lines) + "\n"


def training_data(args):
    """What the recipe trains on: gan_mnist's MNIST (tests/test_test_sets.py keeps test sets out of it)."""
    return gan_mnist.training_data(gan_mnist.parse_args(["--loss", args.losses[0]] + (["--quick"] if args.quick
                                                                                         else [])))


def main(argv=None):
    args = parse_args(argv)
    results_dir = _common.logs() / "gan_compare_quick" if args.quick else _common.ROOT / "results"
    if args.state:
        raise SystemExit("--state names one training state, but gan_compare trains one model per loss; each keeps "
                         "its own (logs/gan_<loss>_mnist[_quick]/training_state.npz)")
    if not args.collect:
        for loss in args.losses:
            run = ["--loss", loss, "--epochs", str(args.epochs), "--seed", str(args.seed),
                   "--verbose", str(args.verbose)] + (["--quick"] if args.quick else [])
            gan_mnist.main(run + _common.resume_options(args, gan_mnist.parse_args(run), gan_mnist.checkpoint_name(
                loss, "mnist")))
    runs = []
    for loss in args.losses:
        name = gan_mnist.checkpoint_name(loss, "mnist")
        path = (_common.logs() / f"{name}_quick" if args.quick else results_dir) / f"{name}.json"
        if path.is_file():
            runs.append(json.loads(path.read_text()))
    if not runs:
        raise SystemExit("no GAN results to compare; run without --collect first")
    budgets = {(r["epochs"], r["batch_size"], r["backend"], r["quick"]) for r in runs}
    if len(budgets) > 1:
        raise SystemExit(f"these runs had different budgets {sorted(budgets)}; rerun them with the same settings")
    standing = {r["loss"]: bool(r.get("standing_statistics")) for r in runs if r["loss"] != "began"}
    if len(set(standing.values())) > 1:  # BEGAN's generator has no BatchNorm (zoo.registry.dcgan_builder)
        raise SystemExit(f"some runs sample with standing statistics and some do not ({standing}); run "
                         "recipes/gan_mnist.py --loss L --standing-only for those without")
    floor_file = _common.ROOT / "results" / "mnistnet.json"
    floor = json.loads(floor_file.read_text())["metrics"]["fid_mnistnet_floor"] if floor_file.is_file() else "?"
    _common.write_json(results_dir / "gan_compare.json", {
        "losses": [r["loss"] for r in runs], "floor": floor,
        "runs": {r["loss"]: {k: r.get(k) for k in ("metrics", "n_critic", "train_seconds", "generator_steps",
                                                 "git_commit", "command", "standing_statistics")}
                 for r in runs},
    })
    beyond = [] if args.quick else [{**json.loads(path.read_text()), "name": path.stem} for path in
                                    (results_dir / f"{name}.json" for name in BEYOND_BUDGET) if path.is_file()]
    report = table(runs, floor) + (beyond_budget_table(beyond) if beyond else "")
    _common.write_atomic(results_dir / "gan_compare.md", report)
    print(report)


if __name__ == "__main__":
    _common.run(main)
