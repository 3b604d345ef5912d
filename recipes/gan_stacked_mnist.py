"""Recipe: mode collapse measured on stacked MNIST (1000 modes).

Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017; the
protocol of PacGAN (Lin et al., "PacGAN: The power of two samples in generative
adversarial networks", NeurIPS 2018): 128,000 training images, each three
random MNIST training digits stacked as RGB channels (`zoo.data.stacked`). A
generator's mode is the three digits `mnistnet` reads in its channels; over
26,000 samples the recipe counts the modes covered (of 1000) and the KL of the
mode histogram to uniform. References (PacGAN, Table 3, their DCGAN-style
networks): DCGAN 99 modes / KL 3.40, VEEGAN 150 / 2.95, PacGAN2 1000 / 0.08.
The same count on 26,000 real stacked test images gives the floor that
sampling noise and classifier errors leave.

The networks are the zoo's DCGAN generator and critic (`zoo.models.gan`) with 3
channels, trained with the loss's paper optimizer (`--loss`, default `ns`); the
critic has three stride-2 convolutions (`--critic-depth`, 2 or 3).
`--packing 2` is PacGAN2: the critic judges two samples at once, stacked on
the channel axis (6 channels). After training, the generator's BatchNorm
statistics are set to their averages over fresh batches
(`GAN.set_standing_statistics`; `--standing-batches`, `--standing-only` as in
recipes/gan_mnist.py).

    python recipes/gan_stacked_mnist.py                  # -> checkpoints/gan_stacked_mnist
    python recipes/gan_stacked_mnist.py --loss wgan_gp --out logs/stacked_wgan_gp --results logs/stacked_wgan_gp.json
    python recipes/gan_stacked_mnist.py --quick          # < 1 minute, writes under logs/
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import zoo  # noqa: E402
import zoo.data  # noqa: E402
from zoo import registry  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.stacked import StackedBatches, stack_digits, stacked_indices, stacked_labels  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.metrics import judges  # noqa: E402
from zoo.metrics.modes import channel_labels, kl_to_uniform, mode_histogram, modes_covered  # noqa: E402
from zoo.models.gan import LOSSES  # noqa: E402
from zoo.viz import save_image_grid  # noqa: E402

NAME = "gan_stacked_mnist"
PAPER = ("Metz et al., Unrolled Generative Adversarial Networks, ICLR 2017 (stacked MNIST); Lin et al., PacGAN, "
         "NeurIPS 2018 (protocol)")
PACKING, WIDTH, CRITIC_DEPTH = 2, 32, 3  # the bundled checkpoint's: PacGAN2 (as the registry entry builds it)
REFERENCE = "PacGAN Table 3: DCGAN 99 / 3.40, VEEGAN 150 / 2.95, PacGAN2 1000 / 0.08"


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--loss", choices=LOSSES, default="ns")
    parser.add_argument("--steps", type=int, default=20000, help="generator updates")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--packing", type=int, default=PACKING, help="samples per critic input (PacGAN); "
                        f"default {PACKING}, the bundled checkpoint's")
    parser.add_argument("--width", type=int, default=WIDTH, help="network width (zoo.registry.dcgan_builder)")
    parser.add_argument("--critic-depth", type=int, default=CRITIC_DEPTH, choices=(2, 3),
                        help="stride-2 convolutions in the critic (zoo.models.gan.dcgan_critic)")
    parser.add_argument("--train-images", type=int, default=128000, help="stacked training images (PacGAN: 128k)")
    parser.add_argument("--samples", type=int, default=26000, help="generated images the modes are counted on")
    _common.add_standing_statistics_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.train_images, args.samples = 40, 4096, 2000
    _common.check_standing_statistics_arguments(parser, args)
    return args


def bundled_settings(args):
    """Whether this run trains the networks and loss of the registry entry (the bundled checkpoint)."""
    return (args.loss, args.packing, args.width, args.critic_depth) == ("ns", PACKING, WIDTH, CRITIC_DEPTH)


def mode_statistics(images, classifier):
    """Modes covered (of 1000), KL to uniform, and the histogram, as `classifier` (mnistnet) reads the channels."""
    counts = mode_histogram(channel_labels(classifier.predict_labels, images))
    return {"modes": modes_covered(counts), "kl": kl_to_uniform(counts)}, counts


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": zoo.data.load("mnist", "train")[0]}  # stacked on the fly from these digits


def judge_metrics(measurements, real_stats, split):
    """The card's rows of the modes as mnist_judge reads the channels (zoo.metrics.judges: never trained against;
    `measurements` of zoo.evaluation.stacked_modes), beside its reading of real stacked test digits."""
    reference = f"real stacked test digits by mnist_judge: {real_stats['modes']} modes, KL {real_stats['kl']:.4f}"
    return [
        {"key": "modes_covered_mnist_judge", "name": "Stacked MNIST modes covered (of 1000), read by mnist_judge",
         "value": int(measurements["modes_covered_mnist_judge"].value), "lower_is_better": False, "split": split,
         "reference": reference},
        {"key": "mode_kl_mnist_judge", "name": "KL(mode histogram by mnist_judge || uniform), nats",
         "value": round(measurements["mode_kl_mnist_judge"].value, 4), "lower_is_better": True, "split": split,
         "reference": reference},
    ]


def main(argv=None):
    args = parse_args(argv)
    out, results_path = _common.outputs(args, NAME)
    if args.standing_only:
        model, trained = _common.load_trained(out, results_path, NAME, args, (
            "loss", "packing", "width", "critic_depth", "batch_size", "train_images", "seed", "quick", "samples"))
        steps, train_seconds = trained["generator_steps"], trained["train_seconds"]
    else:
        _common.check_state(args, NAME)  # before the data: a bad --resume fails at once
    keras.utils.set_random_seed(args.seed)
    x_train, _ = zoo.data.load("mnist", "train")
    x_test, y_test = zoo.data.load("mnist", "test")
    classifier = zoo.load("mnistnet", compile=False)

    # The floor: real stacked test digits, counted exactly as the samples are.
    real_indices = stacked_indices(len(x_test), args.samples, seed=args.seed + 1)
    real = stack_digits(x_test, real_indices)
    real_stats, _ = mode_statistics(real, classifier)
    true_counts = mode_histogram(stacked_labels(y_test, real_indices))
    real_stats["kl_true_labels"] = kl_to_uniform(true_counts)
    print(f"real stacked test digits: {real_stats['modes']} modes, KL {real_stats['kl']:.4f} "
          f"(true labels: KL {real_stats['kl_true_labels']:.4f})", flush=True)

    if not args.standing_only:
        model = registry.dcgan_builder(args.loss, width=args.width, channels=3, packing=args.packing,
                                       critic_depth=args.critic_depth)()
        model.compile(jit_compile=_common.jit_compile())
        data = StackedBatches(x_train, stacked_indices(len(x_train), args.train_images, seed=args.seed),
                              batch_size=args.batch_size, seed=args.seed, steps=args.steps)
        epochs = math.ceil(args.steps / len(data))
        state = _common.training_state(args, NAME, model, exclude=("samples",))
        history = _common.fit(model, data, epochs, args, state)
        train_seconds = state.seconds
        steps = int(model.optimizer["generator"].iterations.numpy())

    spec = {"samples": args.samples, "seed": args.seed}  # zoo.evaluation.stacked_modes: `zoo evaluate` runs it again
    standing = _common.set_standing_statistics(
        model, args, lambda: evaluation.values(evaluation.stacked_modes(model, **spec)))
    measurements = evaluation.stacked_modes(model, **spec)
    fake = model.sample(args.samples, seed=args.seed)  # the protocol's samples: its histogram and picture
    stats, counts = mode_statistics(fake, classifier)
    print(f"{NAME} ({args.loss}, packing {args.packing}, {steps} generator steps, {train_seconds:.0f} s): "
          f"{stats['modes']} modes, KL {stats['kl']:.4f}", flush=True)
    picture = save_image_grid(fake[:64], results_path.with_suffix(".png"), nrow=8)

    split = f"{args.samples} samples; channels labelled by mnistnet"
    metrics = [
        {"key": "modes_covered", "name": "Stacked MNIST modes covered (of 1000)", "value": stats["modes"],
         "lower_is_better": False, "target": "1000", "split": split,
         "reference": f"{REFERENCE}; real stacked test digits: {real_stats['modes']}"},
        {"key": "mode_kl", "name": "KL(mode histogram || uniform), nats", "value": round(stats["kl"], 4),
         "lower_is_better": True, "target": "<= 0.1", "split": split,
         "reference": f"{REFERENCE}; real stacked test digits: {real_stats['kl']:.4f}"},
        *judge_metrics(measurements, mode_statistics(real, judges.judge("mnist"))[0], split),
    ]
    metrics = evaluation.with_protocol(metrics, "stacked_modes", spec, measurements)
    measured = dict(
        real_reference={k: round(float(v), 4) for k, v in real_stats.items()},
        least_frequent_modes=[int(m) for m in np.argsort(counts)[:10]],
        most_frequent_modes={int(m): int(counts[m]) for m in np.argsort(counts)[::-1][:10]},
        samples=args.samples, standing_statistics=standing)
    if args.standing_only:  # the training's record, with the new measurements
        results = _common.rewritten_record(trained, metrics, **measured)
    else:
        results = _common.results_record(
            NAME, args, metrics, state, history, loss=args.loss, packing=args.packing,
            width=args.width, critic_depth=args.critic_depth, picture=picture.name,
            generator_steps=steps, batch_size=args.batch_size, n_critic=model.n_critic,
            train_images=args.train_images, **measured)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": registry.get(NAME).description if bundled_settings(args) else
        f"DCGAN-style GAN ({args.loss}, packing {args.packing}, width {args.width}, critic depth "
        f"{args.critic_depth}) on stacked MNIST.",
        "paper": PAPER,
        "family": "gan",
        "license": "apache-2.0",
        "dataset": {"name": "stacked mnist (built from mnist)", "license": "CC BY-SA 3.0",
                    "split": f"train: {args.train_images} stacks of random training digits (seed {args.seed})"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/gan_stacked_mnist.py"),
        "steps": steps, "standing_statistics": standing,
        "tags": ["gan", args.loss, "generative", "mode-collapse", "stacked-mnist"]
        + (["pacgan"] if args.packing > 1 else []),
        "intended_use": "Measuring mode collapse: sampling 28x28 RGB stacks of three digits.",
        "limitations": "Small DCGAN-style networks trained on a CPU budget; modes are read by mnistnet, whose "
                       "errors also miscount real data (see the real-data reference).",
        **(_common.trained_metadata(trained) if args.standing_only else {}),
    })
    _common.write_json(results_path, results)
    print(f"wrote {out}, {results_path} and {picture}")
    return results


if __name__ == "__main__":
    _common.run(main)
