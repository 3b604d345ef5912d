"""Recipe: naturalnet (rotation prediction) and natural_judge (patch position), self-supervised on natural images.

The zoo has no ImageNet offline, so super-resolution's content loss cannot use
VGG19's weights; these two networks are trained here on the natural-image
training sets only: T91, BSD200 (the BSDS300 training split) and Sun-Hays80,
every file read as RGB at full and half size (`--scales`; a grey file is
replicated to RGB, not skipped: T91's t55.bmp, a grey scene stored as RGB, is
one of the held-out images). Set5, Set14, BSD100, BSD68 and CBSD68 are test
sets (zoo.data.test_sets), never seen. One image in ten of each training set
(sorted by file name, the 10th, 20th, ...; `HELD_OUT_EVERY`) is held out of
training: the pretext accuracy is measured on fixed patches of those. Both
train with Adam (1e-3, a linear warmup over 100 steps, then a cosine decay to
1%).

- `--network naturalnet` (seed 0): `zoo.models.natural_features.RotationNet`,
  VGG19-BN's first four blocks (conv1_1 ... conv4_4) at widths 32-64-128-256
  (BatchNorm: the plain VGG stack stayed at chance, loss ln 4, for its first
  280 steps at these settings; `--no-batch-norm` trains it),
  trained to tell which of 4 rotations an upright 64x64 patch was given
  (Gidaris et al., ICLR 2018; all four rotations of each patch in a batch of
  16 patches, 64 examples; patches mirrored left-right at random, never turned
  or flipped upside down). The content loss's network (`PerceptualLoss(net,
  "conv4_4")`, the analogue of SRGAN's VGG54).
- `--network natural_judge` (seed 1): `NaturalJudge`, a stem and four residual
  stages with BatchNorm (another architecture), trained on another pretext:
  where a 32x32 neighbour tile lies around a centre tile on a 3x3 grid, 16
  pixels apart with up to 4 pixels of jitter (Doersch et al., ICCV 2015; 8
  classes; batches of 64 pairs). Chosen over contrastive learning (needs large
  batches and long training) and colourisation (a decoder, and a grey input
  the judge would then be made for): two small tiles an example make it the
  cheapest on a CPU, and it asks where parts of a scene lie, not which way is
  up. A judge only: `perceptual_distance(judge, reference, images)`, LPIPS
  without learned weights on its stem and stage outputs, scores SR results; its
  sanity on held-out crops (the distance grows with blur and noise) is measured
  here.

Step times measured by `--quick` (the full architecture and batch) on this
project's 2-core CPU while another training ran (load average 3.5-4):
naturalnet 1.24 s a step on TensorFlow, 1.58 s on torch, 2.09 s on JAX (XLA's
CPU convolutions are the slowest here); natural_judge 0.71 s, 0.82 s, 0.91 s.
The default 1500 and 2000 steps take about 31 and 23 minutes on TensorFlow
there (52 and 30 on JAX), less on an idle machine. `--quick` prints its own
step time and the estimate of the full run's time from it.

    python recipes/natural_features.py --network naturalnet      # -> checkpoints/naturalnet, results/naturalnet.json
    python recipes/natural_features.py --network natural_judge   # -> checkpoints/natural_judge
    python recipes/natural_features.py --network naturalnet --quick   # < 1 minute, T91 only, writes under logs/
    python recipes/natural_features.py --network naturalnet --resume  # continue a stopped run
"""

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import natural  # noqa: E402
from zoo.models import natural_features as nf  # noqa: E402

NETWORKS = ("naturalnet", "natural_judge")
SEEDS = {"naturalnet": 0, "natural_judge": 1}  # the judge: another seed than the network that trains models
HELD_OUT_EVERY = 10  # image i (0-based, by file name) of each training set is held out when i % 10 == 9
EVAL_SEED = 12345  # the held-out patches and pairs, the same for every run
# network -> steps, batch size, learning rate
SETTINGS = {"naturalnet": (1500, 16, 1e-3), "natural_judge": (2000, 64, 1e-3)}
DEFAULT_WIDTHS = {"naturalnet": (32, 64, 128, 256), "natural_judge": (32, 64, 128, 128)}
BLUR_SIGMAS = (0.5, 1.0, 2.0)  # pixels
NOISE_SIGMAS = (5, 10, 25)  # on the 0..255 scale
CROP = 96  # the side of the held-out crops the perceptual distance is checked on (SRGAN's HR patch size)
DESCRIPTIONS = {
    "naturalnet": "Natural-image feature network (VGG-style, conv1_1-conv4_4) trained by rotation prediction "
                  "(Gidaris et al. 2018) on T91 + BSD200 + Sun-Hays80: the content loss's network for "
                  "super-resolution.",
    "natural_judge": "Judge only (never in a training loss): residual natural-image network trained on relative "
                     "patch position (Doersch et al. 2015) on T91 + BSD200 + Sun-Hays80, whose LPIPS-style "
                     "perceptual distance scores SR results.",
}
PAPERS = {
    "naturalnet": "Gidaris, Singh & Komodakis, Unsupervised Representation Learning by Predicting Image Rotations, "
                  "ICLR 2018 (the pretext); Simonyan & Zisserman, ICLR 2015 (the VGG architecture)",
    "natural_judge": "Doersch, Gupta & Efros, Unsupervised Visual Representation Learning by Context Prediction, "
                     "ICCV 2015 (the pretext); He et al., CVPR 2016 (the residual architecture); Zhang et al., The "
                     "Unreasonable Effectiveness of Deep Features as a Perceptual Metric, CVPR 2018 (the distance)",
}


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--network", choices=NETWORKS, default="naturalnet")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the network's in SETTINGS)")
    parser.add_argument("--steps-per-epoch", type=int, default=250, help="steps between logs and saved states")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="patches (naturalnet; each shown in 4 rotations) or pairs (natural_judge) a step")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam's, reached by a linear warmup, then a cosine decay to 1%%")
    parser.add_argument("--warmup-steps", type=int, default=100,
                        help="steps of linear warmup from 0 (at most a tenth of the steps)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5],
                        help="sizes at which the training images are cut (views too small are left out)")
    parser.add_argument("--patch-size", type=int, default=64, help="naturalnet's patches")
    parser.add_argument("--tile-size", type=int, default=32, help="natural_judge's tiles")
    parser.add_argument("--gap", type=int, default=16, help="pixels between natural_judge's tiles")
    parser.add_argument("--jitter", type=int, default=4, help="largest random shift of each tile")
    parser.add_argument("--widths", type=int, nargs="+", default=None,
                        help="filters of each block/stage (default: the registry's architecture)")
    parser.add_argument("--hidden", type=int, default=256, help="units of the head's hidden layer")
    parser.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True,
                        help="naturalnet: BatchNormalization after each convolution (VGG19-BN; --no-batch-norm: "
                             "plain VGG, which stayed at chance here)")
    parser.add_argument("--eval-patches", type=int, default=512,
                        help="held-out patches (pairs) the pretext accuracy is measured on")
    parser.set_defaults(seed=None)
    args = parser.parse_args(argv)
    steps, batch, rate = SETTINGS[args.network]
    args.seed = SEEDS[args.network] if args.seed is None else args.seed
    args.batch_size = args.batch_size or batch
    args.learning_rate = args.learning_rate or rate
    args.widths = list(args.widths or DEFAULT_WIDTHS[args.network])
    if args.quick:  # the full architecture and batch, a few steps on T91 only: its step time estimates a full run
        args.steps, args.steps_per_epoch = args.steps or 8, min(args.steps_per_epoch, 4)
        args.scales, args.eval_patches = [1.0], min(args.eval_patches, 32)
    args.steps = args.steps or steps
    args.full_steps = steps if args.quick else args.steps  # what the printed time estimate is for
    return args


def training_sets(args):
    return ("t91",) if args.quick else natural.TRAIN_SETS


def split_files(args):
    """`(training files, held-out files)`: every `HELD_OUT_EVERY`-th file of each training set is held out."""
    train, held_out = [], []
    for name in training_sets(args):
        for i, path in enumerate(natural.image_files(name)):
            (held_out if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 else train).append(path)
    return train, held_out


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"image_files": split_files(args)[0]}


def min_side(args):
    """The smallest image side a sample is cut from: a patch, or a judge's region of 3 tiles."""
    if args.network == "naturalnet":
        return args.patch_size
    return nf.region_size(args.tile_size, args.gap, args.jitter)


def views(files, args, side=None):
    """The uint8 RGB images of `files` at every scale of `args.scales` whose shorter side is at least `side`."""
    side = min_side(args) if side is None else side
    images = [natural.read_image(f, channels=3, scale=s) for f in files for s in args.scales]
    return [v for v in images if min(v.shape[:2]) >= side]


def build(args):
    if args.network == "naturalnet":
        return nf.naturalnet(widths=args.widths, hidden=args.hidden, batch_norm=args.batch_norm)
    return nf.natural_judge(widths=args.widths, hidden=args.hidden, tile_size=args.tile_size, gap=args.gap,
                            jitter=args.jitter)


def sampler(args, images, steps, batch_size=None, seed=None, mirror=True):
    batch_size, seed = batch_size or args.batch_size, args.seed if seed is None else seed
    if args.network == "naturalnet":
        return nf.UprightPatches(images, args.patch_size, batch_size, steps=steps, seed=seed, mirror=mirror)
    return nf.RelativePositionPairs(images, args.tile_size, args.gap, args.jitter, batch_size, steps=steps, seed=seed,
                                    mirror=mirror)


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch of this run (reads nothing from the device): the step time, first epoch aside."""

    def __init__(self):
        super().__init__()
        self.seconds, self.steps, self._start = [], [], None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.steps.append((self.params or {}).get("steps"))

    def seconds_per_step(self):
        """Median seconds a step over the epochs after the first (tracing, compiling); None with one epoch."""
        rates = [s / n for s, n in zip(self.seconds[1:], self.steps[1:]) if n]
        return float(np.median(rates)) if rates else None


def train(model, args, images):
    """Trains `args.steps` steps with Adam, a linear warmup and a cosine decay, resumably (the plain VGG has no
    normalisation, so its first steps are kept small); returns the steps, history, state and the epochs' timer."""
    steps_per_epoch = min(args.steps_per_epoch, args.steps)
    epochs = math.ceil(args.steps / steps_per_epoch)
    warmup = min(args.warmup_steps, epochs * steps_per_epoch // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else args.learning_rate, decay_steps=epochs * steps_per_epoch - warmup, alpha=0.01,
        warmup_target=args.learning_rate if warmup else None, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=_common.jit_compile())
    state = _common.training_state(args, args.network, model, exclude=("eval_patches", "full_steps"))
    timer = EpochTimer()
    history = _common.fit(model, sampler(args, images, steps_per_epoch), epochs, args, state, callbacks=[timer])
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations)), history, state, timer


def measure_naturalnet(model, args, held_out, held_out_files):
    patches = sampler(args, held_out, 1, batch_size=args.eval_patches, seed=EVAL_SEED, mirror=False).batch(0)
    accuracy, per_rotation = model.rotation_accuracy(patches)
    print(f"naturalnet: rotation accuracy {accuracy:.4f} on {len(patches)} held-out patches x 4 rotations "
          f"(0/90/180/270: {', '.join(f'{a:.3f}' for a in per_rotation)}; chance 0.25)", flush=True)
    split = (f"{len(patches)} {args.patch_size}x{args.patch_size} patches of the held-out training images, each in "
             "4 rotations")
    return [
        {"key": "rotation_accuracy", "name": "Rotation-prediction accuracy (4 classes, chance 0.25), held-out images",
         "value": round(accuracy, 4), "lower_is_better": False, "split": split},
        *[{"key": f"rotation_accuracy_{90 * k}", "name": f"Rotation-prediction accuracy, patches turned {90 * k} "
           "degrees", "value": round(a, 4), "lower_is_better": False, "split": split}
          for k, a in enumerate(per_rotation)],
    ]


def distortions(crops, seed=EVAL_SEED):
    """`{(kind, level): crops distorted}`: Gaussian blur of `BLUR_SIGMAS` pixels, Gaussian noise of
    `NOISE_SIGMAS` / 255 (one draw, scaled), each clipped to [0, 1]."""
    noise = np.random.default_rng(seed).standard_normal(crops.shape)
    out = {("blur", s): np.clip(nf.gaussian_blur(crops, s), 0, 1).astype(np.float32) for s in BLUR_SIGMAS}
    out.update({("noise", s): np.clip(crops + s / 255.0 * noise, 0, 1).astype(np.float32) for s in NOISE_SIGMAS})
    return out


def measure_judge(model, args, held_out, held_out_files):
    x, y = sampler(args, held_out, 1, batch_size=args.eval_patches, seed=EVAL_SEED, mirror=False).batch(0)
    accuracy = float(np.mean(model.predict_positions(x) == y))
    split = (f"{len(x)} pairs of {args.tile_size}x{args.tile_size} tiles of the held-out training images (gap "
             f"{args.gap}, jitter {args.jitter})")
    metrics = [{"key": "position_accuracy", "name": "Relative-position accuracy (8 classes, chance 0.125), held-out "
                "images", "value": round(accuracy, 4), "lower_is_better": False, "split": split}]
    print(f"natural_judge: relative-position accuracy {accuracy:.4f} on {len(x)} held-out pairs (chance 0.125)")
    crops = nf.UprightPatches(views(held_out_files, args, side=CROP), CROP, min(args.eval_patches, 64), steps=1,
                              seed=EVAL_SEED, mirror=False).batch(0)
    distances = {key: nf.perceptual_distance(model, crops, distorted) for key, distorted in distortions(crops).items()}
    crop_split = f"{len(crops)} {CROP}x{CROP} crops of the held-out training images"
    for kind, levels, unit in (("blur", BLUR_SIGMAS, "px"), ("noise", NOISE_SIGMAS, "/255")):
        table = np.stack([distances[(kind, s)] for s in levels], axis=1)
        monotone = float(np.mean(np.all(np.diff(table, axis=1) > 0, axis=1)))
        means = table.mean(axis=0)
        print(f"  {nf.METRIC_KEY}, {kind} " + ", ".join(f"{s}{unit}: {m:.4f}" for s, m in zip(levels, means))
              + f"; growing on {monotone:.1%} of the crops", flush=True)
        metrics += [{"key": f"{nf.METRIC_KEY}_{kind}_{str(s).replace('.', '_')}",
                     "name": f"Mean perceptual distance (natural_judge) of a crop and its {kind} of {s}{unit}",
                     "value": round(float(m), 4), "lower_is_better": None, "split": crop_split}
                    for s, m in zip(levels, means)]
        metrics.append({"key": f"{nf.METRIC_KEY}_{kind}_monotone", "name": f"Share of crops whose distance grows with "
                        f"each {kind} level ({', '.join(f'{s}{unit}' for s in levels)})", "value": round(monotone, 4),
                        "lower_is_better": False, "split": crop_split})
    return metrics


# Why `zoo evaluate` does not re-measure these cards (tests/test_evaluation.py asks every bundled metric for a
# protocol or a reason).
NOT_EVALUATED = ("no zoo.evaluation protocol measures it: the pretext accuracy and the distances' sanity are "
                 "measured on the held-out training images by this recipe")


def metadata(args, name, metrics, results, steps, sets, n_train, n_views):
    judge = name == "natural_judge"
    return {
        "name": name,
        "description": DESCRIPTIONS[name],
        "paper": PAPERS[name],
        "family": "judge" if judge else "classifier",
        "license": "apache-2.0",
        "dataset": {"name": "t91_bsd200_sun_hays80",
                    "license": "research use (T91: none stated; BSDS: UC Berkeley; Sun-Hays80: none stated)",
                    "url": "https://github.com/jiny2001/dcscn-super-resolution",
                    "split": f"train: {n_train} images of {', '.join(sets)} (all but every {HELD_OUT_EVERY}th) at "
                             f"scales {args.scales} ({n_views} views); the held-out images score the pretext. No "
                             "test set (Set5, Set14, BSD100, BSD68) is used"},
        "metrics": [{**metric, "not_evaluated": NOT_EVALUATED} for metric in metrics],
        **_common.provenance(results, "recipes/natural_features.py"),
        "steps": steps,
        "tags": ["self-supervised", "natural-images", "super-resolution"]
                + (["judge", "metrics", "perceptual-distance"] if judge else ["feature-network", "perceptual-loss"]),
        "pipeline_tag": "image-feature-extraction",
        "how_to_load": (
            "```python\nimport zoo\nfrom zoo.models.natural_features import perceptual_distance\n\n"
            "judge = zoo.load(\"natural_judge\", compile=False)\n"
            "d = perceptual_distance(judge, hr_images, sr_images)  # (n,) float64; images in [0, 1], >= 16 px\n```"
            if judge else
            "```python\nimport zoo\nfrom zoo.losses import PerceptualLoss\n\n"
            "net = zoo.load(\"naturalnet\", compile=False)\n"
            "content = PerceptualLoss(net, \"conv4_4\")  # SRGAN's VGG54 analogue; \"conv2_2\" for VGG22\n```"),
        "intended_use": (
            "A judge only: scoring super-resolved (or restored) natural images against their ground truth with "
            "zoo.models.natural_features.perceptual_distance, a patch-level LPIPS-style distance." if judge else
            "The frozen feature network of content (perceptual) losses on RGB natural images in [0, 1], e.g. "
            "SRGAN's; a self-supervised stand-in for ImageNet's VGG19, which the zoo cannot reach offline."),
        "limitations": (
            "Never use it inside a training loss (zoo.metrics.judges.check_not_judge refuses it): a model trained "
            "against it would be scored by what it learned to please. Its distances are its own: not comparable "
            "with LPIPS-VGG/Alex or with human judgements, which were not measured (no BAPPS offline)."
            if judge else
            f"Trained for minutes on a CPU on {n_train} images, by a pretext only: its features are far weaker than "
            "ImageNet VGG19's, so SRGAN with it is not SRGAN-VGG54 and its numbers are not the paper's. Rotation "
            "is ambiguous on textures and on images without an up; it scores nothing (use natural_judge)."),
    }


def main(argv=None):
    args = parse_args(argv)
    name = args.network
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once
    train_files, held_out_files = split_files(args)
    images, held_out = views(train_files, args), views(held_out_files, args)
    n_views = len(train_files) * len(args.scales)
    print(f"{name}: {len(images)} of {n_views} training views ({len(train_files)} images at scales {args.scales}) are "
          f"at least {min_side(args)} pixels; {len(held_out_files)} images held out", flush=True)
    model = build(args)
    steps, history, state, timer = train(model, args, images)
    per_step = timer.seconds_per_step()
    if per_step is not None:
        print(f"{per_step:.3f} s per step here ({keras.backend.backend()}); the full run's {args.full_steps} steps: "
              f"about {per_step * args.full_steps / 60:.0f} minutes", flush=True)
    metrics = (measure_naturalnet if name == "naturalnet" else measure_judge)(model, args, held_out, held_out_files)
    results = _common.results_record(
        name, args, metrics, state, history, steps=steps, seconds_per_step=per_step, batch_size=args.batch_size,
        learning_rate=args.learning_rate, warmup_steps=args.warmup_steps, widths=args.widths, hidden=args.hidden,
        batch_norm=args.batch_norm if name == "naturalnet" else None, scales=args.scales,
        patch_size=args.patch_size if name == "naturalnet" else None,
        tiles={"size": args.tile_size, "gap": args.gap, "jitter": args.jitter} if name == "natural_judge" else None,
        training_sets=list(training_sets(args)), training_images=len(train_files), training_views=len(images),
        held_out_images=[p.name for p in held_out_files], held_out_every=HELD_OUT_EVERY, eval_seed=EVAL_SEED)
    save_checkpoint(model, out, overwrite=True,
                    metadata=metadata(args, name, metrics, results, steps, training_sets(args), len(train_files),
                                      len(images)))
    _common.write_json(results_path, results)
    print(f"wrote {out} and {results_path}")
    return results


if __name__ == "__main__":
    _common.run(main)
