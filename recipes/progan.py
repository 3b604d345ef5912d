"""Recipe: progressive growing of GANs (progan_fashion_mnist, progan_mnist, progan_stacked_mnist, progan_olivetti),
or the same networks at full size.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability, and Variation",
ICLR 2018 (arXiv:1710.10196): zoo/models/progan.py's generator and critic (equalized learning rate, pixelwise
normalisation, minibatch standard deviation, WGAN-GP with the drift term, Adam(1e-3, 0, 0.99), samples from the
generator's moving average) grown from 4x4 to the full size: each resolution trained, then the next faded in,
over equal numbers of images (the paper: 800k each; here `--grow-share` of the run's images split evenly over the
phases, the rest at the full resolution). `--mode fixed` trains the same final networks at the full resolution
from the first step: the paper's claim, progressive against not, measured at equal wall time on one machine.

Data: digits (MNIST, Fashion-MNIST) padded from 28x28 to 32x32 with their black background and sampled back at
28x28, so the judges and the feature networks read them as any MNIST GAN's (zoo.evaluation's gan_samples
protocol); Olivetti faces at 64x64, the 300 images of the 30 people face models train on (the 10 others are held
out), measured against those 300 by olivetti_judge (zoo.evaluation's face_samples protocol); stacked MNIST in
colour (three random training digits a stack, 128,000 stacks as PacGAN), measured by the modes of 1000 its samples
cover (zoo.evaluation's stacked_modes protocol, as gan_stacked_mnist). With 300 faces
memorisation is the risk: each sample's nearest training face, by pixels and by the judge's features, is set
against the nearest training face of each held-out person's image, and the closest pairs are shown.

During training a curve of the judge's Frechet distance and the sliced Wasserstein distance (zoo.metrics.swd, the
paper's metric) of samples against as many reference images (2000 test digits; the 300 faces) is taken every
--eval-minutes of training (its own time left out of the training time). Pictures: samples at the end of every
resolution's stable phase, the final samples and an interpolation grid.

    python recipes/progan.py --data fashion_mnist --minutes 30                    # -> checkpoints/progan_fashion_mnist
    python recipes/progan.py --data fashion_mnist --minutes 30 --mode fixed \\
        --out logs/progan_fixed --results logs/progan_fixed.json                 # the non-progressive baseline
    python recipes/progan.py --data olivetti --minutes 120                        # -> checkpoints/progan_olivetti
    python recipes/progan.py --data stacked_mnist --minutes 60                    # 1000 modes? (gan_stacked_mnist's)
    python recipes/progan.py --quick                                             # seconds, tiny settings
    python recipes/progan.py --data fashion_mnist --resume                        # continue a stopped run
"""

import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common  # noqa: E402
from gan_stacked_mnist import judge_metrics, mode_statistics  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo.data  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import olivetti  # noqa: E402
from zoo.data.stacked import StackedBatches, stack_digits, stacked_indices  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo.metrics import frechet_distance, judges  # noqa: E402
from zoo.metrics.modes import channel_labels, mode_histogram, modes_covered  # noqa: E402
from zoo.metrics.swd import sliced_wasserstein  # noqa: E402
from zoo.models.progan import Grow, GrowthSchedule, ProGAN, resolution_at  # noqa: E402
from zoo.viz import save_image_grid, save_rows  # noqa: E402

PAPER = ("Karras, Aila, Laine & Lehtinen, Progressive Growing of GANs for Improved Quality, Stability, and "
         "Variation, ICLR 2018 (arXiv:1710.10196)")
DATA = {  # the judge is zoo.metrics.judges.judge(data), or mnist_judge for stacked MNIST
    "fashion_mnist": {"name": "progan_fashion_mnist", "classifier": "fashionnet", "resolution": 32, "crop": 28,
                      "channels": 1, "title": "Fashion-MNIST"},
    "mnist": {"name": "progan_mnist", "classifier": "mnistnet", "resolution": 32, "crop": 28, "channels": 1,
              "title": "MNIST"},
    "stacked_mnist": {"name": "progan_stacked_mnist", "classifier": "mnistnet", "resolution": 32, "crop": 28,
                      "channels": 3, "title": "stacked MNIST"},
    "olivetti": {"name": "progan_olivetti", "classifier": None, "resolution": 64, "crop": None, "channels": 1,
                 "title": "Olivetti faces"},
}
STACKED_TRAIN, STACKED_SAMPLES = 128000, 26000  # PacGAN's stacked training images and samples
SHOWN_PAIRS = 8  # samples closest to a training face, shown beside it


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", choices=tuple(DATA), default="fashion_mnist")
    parser.add_argument("--mode", choices=("progressive", "fixed"), default="progressive",
                        help="grow from 4x4 (the paper), or train the final networks at full size throughout")
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget (the steps are measured)")
    parser.add_argument("--steps", type=int, default=None, help="training steps; overrides --minutes")
    parser.add_argument("--batch-size", type=int, default=16, help="(16 in the paper up to 128x128)")
    parser.add_argument("--grow-share", type=float, default=0.5,
                        help="share of the images spent growing (stable and fade-in phases below the full size)")
    parser.add_argument("--latent-dim", type=int, default=128, help="(512 in the paper)")
    parser.add_argument("--fmap-base", type=int, default=1024, help="feature maps min(base / (res / 2), max)")
    parser.add_argument("--fmap-max", type=int, default=128, help="(512 in the paper)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="(1e-3 in the paper)")
    parser.add_argument("--eval-minutes", type=float, default=3.0, help="training minutes between curve points")
    parser.add_argument("--eval-steps", type=int, default=None,
                        help="steps between curve points instead of --eval-minutes (reproducible points)")
    parser.add_argument("--curve-images", type=int, default=2000, help="samples (and test images) a curve point")
    parser.add_argument("--samples", type=int, default=None,
                        help="samples for the final metrics (10,000; stacked MNIST: PacGAN's 26,000)")
    args = parser.parse_args(argv)
    if not 0 <= args.grow_share < 1:
        parser.error(f"--grow-share must be in [0, 1); got {args.grow_share}")
    if args.samples is None:
        args.samples = STACKED_SAMPLES if args.data == "stacked_mnist" else 10000
    if args.quick:
        args.steps, args.batch_size, args.latent_dim, args.fmap_base, args.fmap_max = 12, 8, 16, 64, 16
        args.eval_steps, args.samples, args.curve_images = 4, 128, 64
    return args


def training_images(data):
    """The training images at their size: the digits' training split (stacked MNIST stacks MNIST's on the fly), or
    the faces of the 30 people not held out."""
    if data == "olivetti":
        return olivetti.load_olivetti("train_people")[0]
    return zoo.data.load("mnist" if data == "stacked_mnist" else data, "train")[0]


def training_data(args):
    """What the recipe trains on (tests/test_test_sets.py keeps the test split and the held-out people out)."""
    return {"images": training_images(args.data)}


def reference_images(data, count, seed):
    """What samples are measured against: the digits' test split (`count` random stacks of three test digits for
    stacked MNIST); for faces the training faces themselves (a face GAN's test is its samples against the people
    it learned; the held-out people serve the memorisation check)."""
    if data == "olivetti":
        return training_images(data)
    if data == "stacked_mnist":
        x_test = zoo.data.load("mnist", "test")[0]
        return stack_digits(x_test, stacked_indices(len(x_test), count, seed=seed + 1))
    return zoo.data.load(data, "test")[0]


def training_batches(args, resolution):
    """The batches of a run: whole images, or stacked MNIST stacked on the fly from 128,000 index triples."""
    images = pad(training_images(args.data)[:2048 if args.quick else None], resolution)
    if args.data == "stacked_mnist":
        indices = stacked_indices(len(images), 2048 if args.quick else STACKED_TRAIN, seed=args.seed)
        return StackedBatches(images, indices, batch_size=args.batch_size, seed=args.seed), len(indices)
    return ArrayBatches(images, batch_size=args.batch_size, seed=args.seed), len(images)


def curve_score(args, reference):
    """What a curve point measures of as many samples as `reference` images, besides the SWD: the judge's Frechet
    distance, or for stacked MNIST the modes (of 1000) mnist_judge reads in their channels."""
    if args.data == "stacked_mnist":
        judge = judges.judge("mnist")
        return lambda fake: {"modes_judge": modes_covered(mode_histogram(channel_labels(judge.predict_labels,
                                                                                        fake)))}
    judge = judges.judge(args.data)
    real_features = judge.features(reference)
    return lambda fake: {"fid_judge": round(float(frechet_distance(real_features, judge.features(fake))), 3)}


def pad(images, resolution):
    """Images to `resolution` x `resolution` (28x28 digits to 32x32), the added border their black background."""
    margin = (resolution - images.shape[1]) // 2
    return np.pad(images, ((0, 0), (margin, margin), (margin, margin), (0, 0)))


def build(args):
    settings = DATA[args.data]
    return ProGAN(resolution=settings["resolution"], image_channels=settings["channels"], latent_dim=args.latent_dim,
                  fmap_base=args.fmap_base, fmap_max=args.fmap_max, crop=settings["crop"], seed=args.seed)


def schedule(args, total_images, resolution):
    """The growth: `--grow-share` of the images over the phases below the full size (at 32x32: stable 4, fade 8,
    stable 8, fade 16, stable 16, fade 32), then the full size for the rest."""
    phases = 2 * int(math.log2(resolution // 4))
    per_phase = args.grow_share * total_images / phases
    return GrowthSchedule(resolution, stable_images=per_phase, fade_images=per_phase, total_images=total_images)


def nearest(queries, base):
    """Each query's nearest row of `base` (both (n, d)): its Euclidean distance and index."""
    queries, base = np.asarray(queries, np.float64), np.asarray(base, np.float64)
    squared = np.sum(queries ** 2, 1)[:, None] - 2 * queries @ base.T + np.sum(base ** 2, 1)[None]
    index = np.argmin(squared, axis=1)
    return np.sqrt(np.maximum(squared[np.arange(len(queries)), index], 0.0)), index


def memorisation(samples, train, held_out, judge):
    """Is a sample a copy of a training face? Each sample's distance to its nearest training face, by pixels (RMS
    difference) and by the judge's features (Euclidean), set against the same distance of each held-out person's
    image, which cannot be a copy. Returns the statistics, and the sample indices closest to a training face by
    pixels with their nearest faces' indices."""
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    size = flat(train).shape[1]
    out, pairs = {}, None
    for key, (s, t, h) in {"pixel": (flat(samples), flat(train), flat(held_out)),
                           "judge": (judge.features(samples), judge.features(train), judge.features(held_out))}.items():
        scale = 1 / np.sqrt(size) if key == "pixel" else 1.0
        sample_d, sample_i = nearest(s, t)
        held_d, _ = nearest(h, t)
        sample_d, held_d = sample_d * scale, held_d * scale
        out[key] = {"samples_median": round(float(np.median(sample_d)), 4),
                    "samples_min": round(float(sample_d.min()), 4),
                    "held_out_median": round(float(np.median(held_d)), 4),
                    "held_out_min": round(float(held_d.min()), 4),
                    "samples_closer_than_any_held_out": round(float(np.mean(sample_d < held_d.min())), 4)}
        if key == "pixel":
            order = np.argsort(sample_d)[:SHOWN_PAIRS]
            pairs = (order, sample_i[order])
    return out, pairs


class Curve(keras.callbacks.Callback):
    """Every `eval_minutes` of training (or `eval_steps` steps): `score` of as many samples as `real` reference
    images (see `curve_score`) and their SWD against them, with the training seconds so far (evaluation time left
    out), kept in the state's record."""

    def __init__(self, record, real, score, eval_minutes, stage_pictures, eval_steps=None):
        super().__init__()
        self.record, self.real, self.score = record, real, score
        self.interval, self.stage_pictures = 60 * eval_minutes, stage_pictures
        self.eval_steps, self.steps = eval_steps, 0
        self.record.setdefault("curve", [])
        self.record.setdefault("train_seconds", 0.0)
        self.started = self.last = None

    def on_train_begin(self, logs=None):
        self.started = self.last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.steps += 1
        due = self.steps % self.eval_steps == 0 if self.eval_steps else now - self.last >= self.interval
        if not due:
            return
        self.record["train_seconds"] += now - self.last
        self.point()
        self.last = time.perf_counter()

    def on_train_end(self, logs=None):
        self.record["train_seconds"] += time.perf_counter() - self.last
        self.point()

    def point(self):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer["generator"].iterations))
        if self.record["curve"] and self.record["curve"][-1]["step"] == step:
            return  # the last step was measured already
        fake = self.model.sample(len(self.real), seed=1)
        level, alpha = self.model.stage
        resolution = self.model.resolution
        swd = sliced_wasserstein(pad(self.real, resolution), pad(fake, resolution), seed=0)["mean"]
        scores = {**self.score(fake), "swd": round(float(swd), 3)}
        self.record["curve"].append({"train_seconds": round(self.record["train_seconds"], 1), "step": step,
                                     "resolution": resolution_at(level), "alpha": round(alpha, 3), **scores})
        print(f"step {step} ({resolution_at(level)}x{resolution_at(level)}, alpha {alpha:.2f}), "
              f"{self.record['train_seconds']:.0f} s: " + ", ".join(f"{k} {v}" for k, v in scores.items()),
              flush=True)
        if alpha == 1.0 and level not in self.stage_pictures:
            self.stage_pictures[level] = fake[:16]


def measure_digits(model, args, reference):
    """The gan_samples protocol (judge and feature-network Frechet distances, class KL) and the SWD of as many
    samples as test images; the card's metrics, the SWD's levels and the samples."""
    settings = DATA[args.data]
    measured = evaluation.gan_samples(model, args.data, samples=args.samples, classifier=settings["classifier"])
    samples = model.sample(min(args.samples, len(reference)), seed=0)
    swd = sliced_wasserstein(pad(reference[:len(samples)], model.resolution), pad(samples, model.resolution), seed=0)
    judge_name, classifier = judges.judge_name(args.data), settings["classifier"]
    split = f"{args.data} test split, {len(samples)} samples (seed 0) against as many test images"
    metrics = [
        {"key": f"fid_{judge_name}", "name": f"fid_{judge_name} (Frechet distance of the judge's features)",
         "value": round(measured[f"fid_{judge_name}"].value, 4), "unit": "", "lower_is_better": True,
         "split": split},
        {"key": f"fid_{classifier}", "name": f"fid_{classifier} (Frechet distance of {classifier} features)",
         "value": round(measured[f"fid_{classifier}"].value, 4), "unit": "", "lower_is_better": True,
         "split": split},
        {"key": "swd", "name": "Sliced Wasserstein distance x 1e3 (Laplacian pyramid 32x32 and 16x16 patches, "
         "mean of the levels; the paper's metric)", "value": round(float(swd["mean"]), 4), "unit": "",
         "lower_is_better": True, "split": split},
        {"key": f"class_kl_{judge_name}", "name": f"KL(class histogram by {judge_name} || uniform)",
         "value": round(measured[f"class_kl_{judge_name}"].value, 4), "unit": "", "lower_is_better": True,
         "split": split},
    ]
    metrics = evaluation.with_protocol(metrics, "gan_samples", {"dataset": args.data, "samples": args.samples,
                                                                "classifier": classifier}, measured)
    return metrics, {"swd_per_level": swd["per_level"]}, samples


def measure_stacked(model, args):
    """The stacked_modes protocol (modes covered of 1000 and the KL of their histogram to uniform, as mnistnet
    and mnist_judge read each channel of PacGAN's 26,000 samples), beside real stacked test digits read alike, and
    the SWD against those."""
    x_test = zoo.data.load("mnist", "test")[0]
    real = stack_digits(x_test, stacked_indices(len(x_test), args.samples, seed=args.seed + 1))
    spec = {"samples": args.samples, "seed": args.seed}
    measured = evaluation.stacked_modes(model, **spec)
    samples = model.sample(args.samples, seed=args.seed)  # the protocol's samples
    classifier = zoo.load("mnistnet", compile=False)
    stats, _ = mode_statistics(samples, classifier)
    real_stats, _ = mode_statistics(real, classifier)
    swd = sliced_wasserstein(pad(real, model.resolution), pad(samples, model.resolution), seed=0)
    split = f"{args.samples} samples; channels labelled by mnistnet"
    reference = f"real stacked test digits: {real_stats['modes']} modes, KL {real_stats['kl']:.4f}"
    metrics = [
        {"key": "modes_covered", "name": "Stacked MNIST modes covered (of 1000)", "value": stats["modes"],
         "lower_is_better": False, "target": "1000", "split": split, "reference": reference},
        {"key": "mode_kl", "name": "KL(mode histogram || uniform), nats", "value": round(stats["kl"], 4),
         "lower_is_better": True, "target": "<= 0.08", "split": split, "reference": reference},
        *judge_metrics(measured, mode_statistics(real, judges.judge("mnist"))[0], split),
        {"key": "swd", "name": "Sliced Wasserstein distance x 1e3 against as many real stacked test digits "
         "(Laplacian pyramid 32x32 and 16x16 patches, mean of the levels)", "value": round(float(swd["mean"]), 4),
         "unit": "", "lower_is_better": True, "split": split},
    ]
    metrics = evaluation.with_protocol(metrics, "stacked_modes", spec, measured)
    return metrics, {"swd_per_level": swd["per_level"], "real_reference": real_stats}, samples


def measure_faces(model, args, reference, results_path):
    """The face_samples protocol (judge Frechet distance and SWD against the 300 training faces) and the
    memorisation check, with its picture (each row: samples closest to a training face, then those faces)."""
    measured = evaluation.face_samples(model, seed=0)
    samples = model.sample(len(reference), seed=0)
    judge_name = judges.judge_name(args.data)
    split = f"{len(samples)} samples (seed 0) against the {len(reference)} faces of the 30 people trained on"
    metrics = [
        {"key": f"fid_{judge_name}", "name": f"fid_{judge_name} (Frechet distance of the judge's features)",
         "value": round(measured[f"fid_{judge_name}"].value, 4), "unit": "", "lower_is_better": True,
         "split": split},
        {"key": "swd", "name": "Sliced Wasserstein distance x 1e3 (Laplacian pyramid 64x64 to 16x16 patches, "
         "mean of the levels; the paper's metric)", "value": round(measured["swd"].value, 4), "unit": "",
         "lower_is_better": True, "split": split},
    ]
    metrics = evaluation.with_protocol(metrics, "face_samples", {"seed": 0}, measured)
    held_out = olivetti.load_olivetti("held_out_people")[0]
    copies, (shown, nearest_faces) = memorisation(samples, reference, held_out, judges.judge(args.data))
    for key, row in copies.items():
        print(f"nearest training face by {key}: samples median {row['samples_median']}, held-out people median "
              f"{row['held_out_median']} (closest {row['held_out_min']}); samples closer than any held-out face: "
              f"{row['samples_closer_than_any_held_out']:.1%}", flush=True)
    save_rows([samples[shown], reference[nearest_faces]],
              results_path.with_name(f"{results_path.stem}_nearest_faces.png"))
    return metrics, {"memorisation": copies}, samples


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    settings = DATA[args.data]
    name, resolution = settings["name"], settings["resolution"]
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once

    data, train_images = training_batches(args, resolution)
    reference = reference_images(args.data, args.curve_images, args.seed)
    model = build(args)
    model.compile(learning_rate=args.learning_rate)
    if args.steps is None:  # a resumed run keeps the steps its budget gave when it began
        resumed = _common.resumed_config(args, name)
        # timed at the full resolution: a progressive step costs as much, every level is computed
        args.steps = resumed["steps"] if resumed else _common.steps_for_budget(
            model, (data.batch(0, 0),), args.minutes, share=0.9)
    data.steps = min(data.steps, args.steps, 500)  # an epoch: up to 500 batches of a fresh permutation
    epochs = math.ceil(args.steps / data.steps)
    args.steps = epochs * data.steps
    callbacks = []
    if args.mode == "progressive":
        growth = schedule(args, args.steps * args.batch_size, resolution)
        model.set_stage(growth.start_level, 1.0)
        callbacks.append(Grow(growth, args.batch_size))
    state = _common.training_state(args, name, model, exclude=("samples", "eval_minutes", "eval_steps", "curve_images"))
    stage_pictures = {}
    real = reference[:args.curve_images]
    callbacks.append(Curve(state.record, real, curve_score(args, real), args.eval_minutes, stage_pictures,
                           args.eval_steps))
    history = _common.fit(model, data, epochs, args, state, callbacks=callbacks)
    steps = int(keras.ops.convert_to_numpy(model.optimizer["generator"].iterations))
    print(f"trained {steps} steps, {state.record['train_seconds']:.0f} s of training", flush=True)

    clock = _common.Stopwatch()
    if args.data == "olivetti":
        metrics, measured, samples = measure_faces(model, args, reference, results_path)
    elif args.data == "stacked_mnist":
        metrics, measured, samples = measure_stacked(model, args)
    else:
        metrics, measured, samples = measure_digits(model, args, reference)
    eval_seconds = clock.seconds
    results = _common.results_record(
        name, args, metrics, state, history, eval_seconds=eval_seconds, steps=steps, mode=args.mode,
        training_seconds_without_curve=round(state.record["train_seconds"], 1), curve=state.record["curve"],
        resolution=resolution, crop=settings["crop"], paper=PAPER, ema_beta=model.ema_beta, **measured,
        schedule=None if args.mode == "fixed" else {"grow_share": args.grow_share,
                                                    "images_per_phase": round(growth.stable_images)})
    picture = results_path.with_name(f"{results_path.stem}_samples.png")
    save_image_grid(samples[:64], picture)
    if stage_pictures:
        save_rows([stage_pictures[level] for level in sorted(stage_pictures)],
                  results_path.with_name(f"{results_path.stem}_stages.png"))
    z = np.random.default_rng(2).standard_normal((2, 6, args.latent_dim)).astype("float32")
    grid = model.interpolate(z[0], z[1], steps=8)
    save_rows([grid[:, k] for k in range(grid.shape[1])], results_path.with_name(f"{results_path.stem}_walk.png"))
    side = settings["crop"] or resolution
    size = f"{resolution}x{resolution}" + (f" (digits padded, sampled back at {side}x{side})" if settings["crop"]
                                           else "")
    held_out = "; the 10 held-out people are never trained on" if args.data == "olivetti" else ""
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": f"Progressive GAN (Karras et al. 2018) on {settings['title']} at {size}, "
                       f"{'grown from 4x4' if args.mode == 'progressive' else 'full size throughout'}.",
        "paper": PAPER,
        "family": "gan",
        "pipeline_tag": "unconditional-image-generation",
        "license": "apache-2.0",
        "dataset": {"name": "olivetti_faces" if args.data == "olivetti" else args.data,
                    "split": f"train: {train_images} images; measured against {len(reference)}{held_out}"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "steps": steps,
        "tags": ["gan", "progressive-gan", "wgan-gp", args.data],
        "how_to_load": f"```python\nimport zoo\n\nmodel = zoo.load(\"{name}\")\nimages = model.sample(16, seed=0)  "
                       f"# (16, {side}, {side}, {settings['channels']}) in [0, 1]\n```",
        "intended_use": f"Sampling {settings['title']}; a small, CPU-trained progressive GAN to study growing.",
        "limitations": f"Trained on a CPU for {steps} steps of {args.batch_size}, with {args.fmap_max} feature maps "
                       "at most (the paper: 512); the optimizers' state is not reset between phases as the "
                       "authors' code does." + (" With 300 training faces, see the card's memorisation check "
                                                "before taking a sample for a new face." if args.data == "olivetti"
                                                else ""),
    })
    _common.write_json(results_path, results)
    print(f"wrote {out}, {results_path} and its pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
