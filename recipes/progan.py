"""Recipe: progressive growing of GANs (progan_fashion_mnist, progan_mnist), or the same networks at full size.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability, and Variation",
ICLR 2018 (arXiv:1710.10196): zoo/models/progan.py's generator and critic (equalized learning rate, pixelwise
normalisation, minibatch standard deviation, WGAN-GP with the drift term, Adam(1e-3, 0, 0.99)) grown from 4x4
to 32x32: each resolution trained, then the next faded in, over equal numbers of images (the paper: 800k each;
here `--grow-share` of the run's images split evenly over the phases, the rest at the full resolution).
`--mode fixed` trains the same final networks at the full resolution from the first step: the paper's claim,
progressive against not, measured at equal wall time on one machine.

Digits are padded from 28x28 to 32x32 with their black background and sampled back at 28x28, so the judges and
the feature networks read them as any MNIST GAN's (zoo.evaluation's gan_samples protocol). During training a
curve of the judge's Frechet distance and the sliced Wasserstein distance (zoo.metrics.swd, the paper's metric)
of 2000 samples against 2000 test images is taken every --eval-minutes of training (its own time left out of
the training time). Pictures: samples at the end of every resolution's stable phase, the final samples and an
interpolation grid.

    python recipes/progan.py --data fashion_mnist --minutes 30                    # -> checkpoints/progan_fashion_mnist
    python recipes/progan.py --data fashion_mnist --minutes 30 --mode fixed \\
        --out logs/progan_fixed --results logs/progan_fixed.json                 # the non-progressive baseline
    python recipes/progan.py --quick                                             # seconds, tiny settings
    python recipes/progan.py --data fashion_mnist --resume                        # continue a stopped run
"""

import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo.data  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo.metrics import frechet_distance, judges  # noqa: E402
from zoo.metrics.swd import sliced_wasserstein  # noqa: E402
from zoo.models.progan import Grow, GrowthSchedule, ProGAN, resolution_at  # noqa: E402
from zoo.viz import save_image_grid, save_rows  # noqa: E402

PAPER = ("Karras, Aila, Laine & Lehtinen, Progressive Growing of GANs for Improved Quality, Stability, and "
         "Variation, ICLR 2018 (arXiv:1710.10196)")
DATA = {
    "fashion_mnist": {"name": "progan_fashion_mnist", "classifier": "fashionnet"},
    "mnist": {"name": "progan_mnist", "classifier": "mnistnet"},
}
RESOLUTION, CROP = 32, 28


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
    parser.add_argument("--samples", type=int, default=10000, help="samples for the final metrics")
    args = parser.parse_args(argv)
    if not 0 <= args.grow_share < 1:
        parser.error(f"--grow-share must be in [0, 1); got {args.grow_share}")
    if args.quick:
        args.steps, args.batch_size, args.latent_dim, args.fmap_base, args.fmap_max = 12, 8, 16, 64, 16
        args.eval_steps, args.samples, args.curve_images = 4, 128, 64
    return args


def training_data(args):
    """MNIST's or Fashion-MNIST's training images (tests/test_test_sets.py keeps the test split out)."""
    return {"images": zoo.data.load(args.data, "train")[0]}


def pad(images):
    """28x28 digits to 32x32, the added border their black background."""
    margin = (RESOLUTION - images.shape[1]) // 2
    return np.pad(images, ((0, 0), (margin, margin), (margin, margin), (0, 0)))


def build(args):
    return ProGAN(resolution=RESOLUTION, image_channels=1, latent_dim=args.latent_dim, fmap_base=args.fmap_base,
                  fmap_max=args.fmap_max, crop=CROP, seed=args.seed)


def schedule(args, total_images):
    """The growth: `--grow-share` of the images over the 2 x 3 phases below 32x32 (stable 4, fade 8, stable 8,
    fade 16, stable 16, fade 32), then 32x32 for the rest."""
    phases = 2 * int(math.log2(RESOLUTION // 4))
    per_phase = args.grow_share * total_images / phases
    return GrowthSchedule(RESOLUTION, stable_images=per_phase, fade_images=per_phase, total_images=total_images)


class Curve(keras.callbacks.Callback):
    """Every `eval_minutes` of training (or `eval_steps` steps): the judge's Frechet distance and SWD of as many
    samples as `real` test images (2000), with the training seconds so far (evaluation time left out), kept in
    the state's record."""

    def __init__(self, record, real, judge, eval_minutes, stage_pictures, eval_steps=None):
        super().__init__()
        self.record, self.real, self.judge = record, real, judge
        self.interval, self.stage_pictures = 60 * eval_minutes, stage_pictures
        self.eval_steps, self.steps = eval_steps, 0
        self.real_features = judge.features(real)
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
        fid = frechet_distance(self.real_features, self.judge.features(fake))
        swd = sliced_wasserstein(pad(self.real), pad(fake), seed=0)["mean"]
        self.record["curve"].append({"train_seconds": round(self.record["train_seconds"], 1), "step": step,
                                     "resolution": resolution_at(level), "alpha": round(alpha, 3),
                                     "fid_judge": round(float(fid), 3), "swd": round(float(swd), 3)})
        print(f"step {step} ({resolution_at(level)}x{resolution_at(level)}, alpha {alpha:.2f}), "
              f"{self.record['train_seconds']:.0f} s: judge FID {fid:.2f}, SWD {swd:.2f}", flush=True)
        if alpha == 1.0 and level not in self.stage_pictures:
            self.stage_pictures[level] = fake[:16]


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    settings = DATA[args.data]
    name = settings["name"]
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once

    x_train = pad(zoo.data.load(args.data, "train")[0][:2048 if args.quick else None])
    x_test = zoo.data.load(args.data, "test")[0]
    model = build(args)
    model.compile(learning_rate=args.learning_rate)
    if args.steps is None:  # a resumed run keeps the steps its budget gave when it began
        resumed = _common.resumed_config(args, name)
        # timed at the full resolution: a progressive step costs as much, every level is computed
        args.steps = resumed["steps"] if resumed else _common.steps_for_budget(
            model, (x_train[:args.batch_size],), args.minutes, share=0.9)
    data = ArrayBatches(x_train, batch_size=args.batch_size, seed=args.seed)
    data.steps = min(data.steps, args.steps, 500)  # an epoch: up to 500 batches of a fresh permutation
    epochs = math.ceil(args.steps / data.steps)
    args.steps = epochs * data.steps
    callbacks = []
    if args.mode == "progressive":
        growth = schedule(args, args.steps * args.batch_size)
        model.set_stage(growth.start_level, 1.0)
        callbacks.append(Grow(growth, args.batch_size))
    state = _common.training_state(args, name, model, exclude=("samples", "eval_minutes", "eval_steps", "curve_images"))
    stage_pictures = {}
    judge = judges.judge(args.data)
    callbacks.append(Curve(state.record, x_test[:args.curve_images], judge, args.eval_minutes, stage_pictures,
                           args.eval_steps))
    history = _common.fit(model, data, epochs, args, state, callbacks=callbacks)
    steps = int(keras.ops.convert_to_numpy(model.optimizer["generator"].iterations))
    print(f"trained {steps} steps, {state.record['train_seconds']:.0f} s of training", flush=True)

    clock = _common.Stopwatch()
    measured = evaluation.gan_samples(model, args.data, samples=args.samples, classifier=settings["classifier"])
    samples = model.sample(min(args.samples, len(x_test)), seed=0)
    swd = sliced_wasserstein(pad(x_test[:len(samples)]), pad(samples), seed=0)
    eval_seconds = clock.seconds
    judge_name = judges.judge_name(args.data)
    split = f"{args.data} test split, {len(samples)} samples (seed 0) against as many test images"
    metrics = [
        {"key": f"fid_{judge_name}", "name": f"fid_{judge_name} (Frechet distance of the judge's features)",
         "value": round(measured[f"fid_{judge_name}"].value, 4), "unit": "", "lower_is_better": True,
         "split": split},
        {"key": f"fid_{settings['classifier']}", "name": f"fid_{settings['classifier']} (Frechet distance of "
         f"{settings['classifier']} features)", "value": round(measured[f"fid_{settings['classifier']}"].value, 4),
         "unit": "", "lower_is_better": True, "split": split},
        {"key": "swd", "name": "Sliced Wasserstein distance x 1e3 (Laplacian pyramid 32x32 and 16x16 patches, "
         "mean of the levels; the paper's metric)", "value": round(float(swd["mean"]), 4), "unit": "",
         "lower_is_better": True, "split": split},
        {"key": f"class_kl_{judge_name}", "name": f"KL(class histogram by {judge_name} || uniform)",
         "value": round(measured[f"class_kl_{judge_name}"].value, 4), "unit": "", "lower_is_better": True,
         "split": split},
    ]
    metrics = evaluation.with_protocol(metrics, "gan_samples", {"dataset": args.data, "samples": args.samples,
                                                                "classifier": settings["classifier"]}, measured)
    results = _common.results_record(
        name, args, metrics, state, history, eval_seconds=eval_seconds, steps=steps, mode=args.mode,
        training_seconds_without_curve=round(state.record["train_seconds"], 1), curve=state.record["curve"],
        swd_per_level=swd["per_level"], resolution=RESOLUTION, crop=CROP, paper=PAPER,
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
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": f"Progressive GAN (Karras et al. 2018) on {args.data} at 32x32 (digits padded, sampled "
                       f"back at 28x28), {'grown from 4x4' if args.mode == 'progressive' else 'full size throughout'}.",
        "paper": PAPER,
        "family": "gan",
        "pipeline_tag": "unconditional-image-generation",
        "license": "apache-2.0",
        "dataset": {"name": args.data, "split": f"train: {len(x_train)} images; test: {len(samples)}"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "steps": steps,
        "tags": ["gan", "progressive-gan", "wgan-gp", args.data],
        "how_to_load": f"```python\nimport zoo\n\nmodel = zoo.load(\"{name}\")\nimages = model.sample(16, seed=0)  "
                       "# (16, 28, 28, 1) in [0, 1]\n```",
        "intended_use": "Sampling digits or clothes; a small, CPU-trained progressive GAN to study growing.",
        "limitations": f"Trained on a CPU for {steps} steps of {args.batch_size}, with {args.fmap_max} feature maps "
                       "at most (the paper: 512) and without the paper's moving average of the generator's "
                       "weights.",
    })
    _common.write_json(results_path, results)
    print(f"wrote {out}, {results_path} and its pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
