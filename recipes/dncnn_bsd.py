"""Recipe: a blind DnCNN denoiser (dae_bsd) on natural images, tested on BSD68 (grey) and CBSD68 (colour).

Zhang, Zuo, Chen, Meng & Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image
Denoising", IEEE TIP 2017 (arXiv:1608.03981). One grey model is trained on random 40x40 patches of the
T91, BSD200 (the BSDS300 training split) and Sun-Hays80 images (at 3/4 and half size, randomly
flipped/rotated; views smaller than a patch left out) with noise of a level drawn per patch from [0, 55]
(the paper's blind DnCNN-B), sized for ~35 minutes on 2 CPU cores (TF). Set5, Set14, BSD100, BSD68 and
CBSD68 are test sets (zoo.data.test_sets), never trained on.
Colour images are denoised in an opponent colour space, plane by plane (zoo/models/denoiser.py).

Evaluation as in the literature: noise N(0, sigma^2) with sigma on the 0..255 scale added with a fixed seed
to the clean images in [0, 1] (the noisy input is not clipped), the output clipped to [0, 1], PSNR with
peak 255 per full image, averaged over the 68 images. References (the paper, Table II): BSD68
sigma 25: BM3D 28.57, DnCNN-S 29.23, DnCNN-B 29.16.

    python recipes/dncnn_bsd.py                  # full run: 35 min training + evaluation; writes
                                                 # checkpoints/dae_bsd, results/dae_bsd.json and a picture
    python recipes/dncnn_bsd.py --steps 5000     # a fixed number of steps instead of --minutes (reproducible)
    python recipes/dncnn_bsd.py --quick          # < 1 minute on tiny settings, writes under logs/
    python recipes/dncnn_bsd.py --weights W.h5   # evaluate and package trained weights, no training
    python recipes/dncnn_bsd.py --resume         # continue a stopped run with the steps its budget gave
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common
import keras
import numpy as np

from zoo import evaluation
from zoo.checkpoints import save_checkpoint
from zoo.data import natural
from zoo.models.denoiser import DnCNN
from zoo.viz import save_rows

NAME = "dae_bsd"
DESCRIPTION = ("Blind DnCNN denoiser (Zhang et al. 2017) for Gaussian noise up to sigma 55 on grey and colour "
               "natural images, trained on T91 + BSD200 + Sun-Hays80 patches; tested on BSD68 and CBSD68.")
SIGMAS = (15, 25, 50)
NOISE_SEED = 0
TEST_SETS = (("bsd68", 1, "BSD68 grey"), ("cbsd68", 3, "CBSD68 colour"))
# Zhang et al. 2017: Table II (grey BSD68) and the colour table (CBSD68, blind CDnCNN-B).
REFERENCES = {
    ("bsd68", 15): "BM3D 31.07; DnCNN-S 31.73, DnCNN-B 31.61 (Zhang et al. 2017)",
    ("bsd68", 25): "BM3D 28.57; DnCNN-S 29.23, DnCNN-B 29.16 (Zhang et al. 2017)",
    ("bsd68", 50): "BM3D 25.62; DnCNN-S 26.23, DnCNN-B 26.23 (Zhang et al. 2017)",
    ("cbsd68", 15): "CBM3D 33.52; CDnCNN-B 33.89 (Zhang et al. 2017)",
    ("cbsd68", 25): "CBM3D 30.71; CDnCNN-B 31.23 (Zhang et al. 2017)",
    ("cbsd68", 50): "CBM3D 27.38; CDnCNN-B 27.92 (Zhang et al. 2017)",
}
TARGET = ("bsd68", 25, ">= 28.6")


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=35.0,
                        help="training budget: the steps that fit in it are measured on this machine first")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps; overrides --minutes (use the steps of a results file to rerun it)")
    parser.add_argument("--steps-per-epoch", type=int, default=250, help="steps between logs and saved weights")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patch-size", type=int, default=40)
    parser.add_argument("--depth", type=int, default=17)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--sigma-max", type=float, default=55.0, help="training noise levels are U[0, sigma_max]")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.75, 0.5],
                        help="sizes at which the training images are cut into patches")
    parser.add_argument("--eval-images", type=int, default=None, help="test images per set (default: all 68)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="evaluate these trained weights (.weights.h5) instead of training")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.steps_per_epoch, args.batch_size, args.patch_size = args.steps or 40, 20, 8, 32
        args.depth, args.width, args.scales, args.eval_images = 4, 16, [0.5], 2
    return args


def build(args):
    return DnCNN(channels=1, depth=args.depth, width=args.width, sigma_range=(0.0, args.sigma_max), seed=args.seed)


def compile_model(model, learning_rate):
    # TF: no XLA on CPU (as recipes/vae_mnist.py); JAX always jits; torch runs eagerly.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=_common.jit_compile())


def budget_steps(args, images):
    """How many steps fit in `args.minutes`, timed on a throwaway copy of the model."""
    probe = build(args)
    compile_model(probe, args.learning_rate)
    batch = natural.PatchSampler(images, args.patch_size, args.batch_size, steps=1, seed=args.seed).batch(0)
    return _common.steps_for_budget(probe, (batch,), args.minutes, args.steps_per_epoch, probe_steps=8)


def train(model, images, args):
    """Trains `args.steps` steps (resumable); returns the steps done, the history and the training state."""
    steps_per_epoch = min(args.steps_per_epoch, args.steps)
    epochs = math.ceil(args.steps / steps_per_epoch)
    sampler = natural.PatchSampler(images, patch_size=args.patch_size, batch_size=args.batch_size,
                                   steps=steps_per_epoch, seed=args.seed)
    compile_model(model, keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=epochs * steps_per_epoch,
                                                                alpha=0.01))
    state = _common.training_state(args, NAME, model, exclude=("eval_images",))
    history = _common.fit(model, sampler, epochs, args, state)
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations)), history, state


def protocol(args):
    """How the card's numbers are measured (zoo.evaluation.denoising; `zoo evaluate dae_bsd` runs it again)."""
    return {"sigmas": list(SIGMAS), "noise_seed": NOISE_SEED, "images": args.eval_images}


def evaluate(model, args):
    """The protocol's measurements, and `{(set, sigma): (denoised PSNR, noisy PSNR)}` of them."""
    measurements = evaluation.denoising(model, **protocol(args))
    measured = {(name, sigma): (measurements[f"psnr_{name}_s{sigma}"].value,
                                measurements[f"psnr_noisy_{name}_s{sigma}"].value)
                for name, _, _ in TEST_SETS for sigma in SIGMAS}
    for (name, sigma), (denoised, noisy) in measured.items():
        print(f"{name} sigma {sigma}: denoised {denoised:.2f} dB, noisy {noisy:.2f} dB", flush=True)
    return measurements, measured


def shown_crops(model, limit=None):
    """Clean / noisy / denoised crops at sigma 25 to show: the first 4 BSD68 and the last 4 CBSD68 images, with the
    noise the protocol adds to them."""
    shown = {}
    for name, channels, _ in TEST_SETS:
        clean = natural.load_images(name, channels, limit=limit)
        rng = np.random.default_rng([NOISE_SEED, 25, channels])
        noisy = [image + np.float32(25 / 255.0) * rng.standard_normal(image.shape, dtype=np.float32)
                 for image in clean]  # drawn in order, as the protocol draws them
        chosen = range(min(4, len(clean))) if channels == 1 else range(max(0, len(clean) - 4), len(clean))
        shown[name] = [[_crop(a) for a in (clean[i], noisy[i], model.denoise(noisy[i]))] for i in chosen]
    return shown


def _crop(image, size=128):
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return np.clip(image[top:top + size, left:left + size], 0, 1)


def metrics_list(measured, n_images):
    metrics = []
    for name, _, title in TEST_SETS:
        for sigma in SIGMAS:
            denoised, noisy = measured[(name, sigma)]
            split = (f"{title}, {n_images} images, sigma {sigma} on the 0..255 scale, noise seed "
                     f"{NOISE_SEED}; PSNR per full image (peak 255), averaged")
            entry = {"key": f"psnr_{name}_s{sigma}", "name": f"PSNR, {title}, sigma {sigma}",
                     "value": round(denoised, 3), "unit": "dB", "lower_is_better": False,
                     "reference": REFERENCES[(name, sigma)], "split": split}
            if (name, sigma) == TARGET[:2]:
                entry["target"] = TARGET[2]
            metrics.append(entry)
            metrics.append({"key": f"psnr_noisy_{name}_s{sigma}",
                            "name": f"PSNR of the noisy input (floor), {title}, sigma {sigma}",
                            "value": round(noisy, 3), "unit": "dB", "lower_is_better": False, "split": split})
    return metrics


def save_picture(shown, path):
    """Rows: clean / noisy / denoised; columns: 4 BSD68 then 4 CBSD68 crops at sigma 25."""
    columns = [c for name, _, _ in TEST_SETS for c in shown.get(name, [])]
    rows = [np.stack([np.repeat(c[k], 3 // c[k].shape[-1], axis=-1) for c in columns]) for k in range(3)]
    return save_rows(rows, path)


def training_sets(args):
    return ("t91",) if args.quick else natural.TRAIN_SETS


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"image_files": [f for s in training_sets(args) for f in natural.image_files(s)]}


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    if not args.weights:
        _common.check_state(args, NAME)  # before the data: a bad --resume fails at once

    sets = training_sets(args)
    images = natural.training_images(sets=sets, scales=tuple(args.scales), min_side=args.patch_size)
    views = len(tuple(args.scales)) * sum(len(natural.image_files(s)) for s in sets)
    if len(images) < views:
        print(f"{views - len(images)} of {views} image views are smaller than a {args.patch_size}-pixel patch and "
              "are left out", flush=True)
    model = build(args)
    if args.steps is None and not args.weights:  # a resumed run keeps the steps its budget gave when it began
        resumed = _common.resumed_config(args, NAME)
        args.steps = resumed["steps"] if resumed else budget_steps(args, images)
    if args.weights:
        model.load_weights(args.weights)
        steps, history, state = None, None, None
    else:
        steps, history, state = train(model, images, args)
        print(f"trained {steps} steps in {state.seconds:.0f} s", flush=True)
    eval_clock = _common.Stopwatch()
    measurements, measured = evaluate(model, args)
    shown = shown_crops(model, args.eval_images)
    eval_seconds = eval_clock.seconds
    print(f"evaluated in {eval_seconds:.0f} s")

    n_images = len(natural.image_files("bsd68")[:args.eval_images])
    metrics = evaluation.with_protocol(metrics_list(measured, n_images), "denoising", protocol(args), measurements)
    results = _common.results_record(
        NAME, args, metrics, state, history, eval_seconds=eval_seconds, steps=steps,
        batch_size=args.batch_size, patch_size=args.patch_size, depth=args.depth, width=args.width,
        learning_rate=args.learning_rate, sigma_range=[0.0, args.sigma_max], scales=args.scales,
        training_sets=list(sets), training_images=len(images), eval_images=n_images, noise_seed=NOISE_SEED)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": DESCRIPTION,
        "paper": "Zhang, Zuo, Chen, Meng & Zhang, Beyond a Gaussian Denoiser: Residual Learning of Deep CNN "
                 "for Image Denoising, IEEE TIP 2017 (arXiv:1608.03981)",
        "family": "denoiser",
        "pipeline_tag": "image-to-image",
        "license": "apache-2.0",
        "dataset": {"name": "bsd68",
                    "license": "research use (BSDS: UC Berkeley; the collection states no license)",
                    "url": "https://github.com/majedelhelou/denoising_datasets",
                    "split": f"train: {', '.join(sets)} at scales {args.scales} ({len(images)} images); "
                             f"test: BSD68 and CBSD68 ({n_images} images each)"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "steps": steps,
        "tags": ["denoising", "dncnn", "image-restoration", "bsd68"],
        "how_to_load": (
            "```python\nimport numpy as np\nfrom PIL import Image\n\nimport zoo\n\n"
            "model = zoo.load(\"dae_bsd\")\n"
            "image = np.asarray(Image.open(\"photo.png\").convert(\"RGB\"), \"float32\") / 255  # or .convert(\"L\")\n"
            "noisy = image + 25 / 255 * np.random.default_rng(0).standard_normal(image.shape, \"float32\")\n"
            "denoised = model(noisy)  # numpy (H, W), (H, W, C) or (n, H, W, C) on the [0, 1] scale, any size\n```"),
        "intended_use": "Removing additive white Gaussian noise (sigma up to ~55 on the 0..255 scale, level not "
                        "needed) from grey or colour photographs of any size; a baseline for denoising "
                        "experiments; a starting point for fine-tuning on other clean images.",
        "limitations": "Trained for ~35 CPU minutes, far less than the paper, so it trails DnCNN by several "
                       "tenths of a dB. Only white Gaussian noise: real camera noise, JPEG artefacts and noise "
                       "above sigma 55 are out of its training range. Colour images are denoised plane by plane "
                       "in an opponent colour space by the grey network, not by a colour network (CDnCNN).",
    })
    _common.write_json(results_path, results)
    save_picture(shown, results_path.with_name(f"{NAME}_denoising.png"))
    print(f"wrote {out}, {results_path} and its picture")
    return results


if __name__ == "__main__":
    _common.run(main)
