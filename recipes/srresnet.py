"""Recipe: SRResNet x4 (srresnet_x4), trained with the MSE and tested on Set5, Set14 and BSD100 beside bicubic.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network", CVPR
2017 (arXiv:1609.04802), Sec. 3: the paper's generator (zoo/models/superres.py) trained on the pixel-wise MSE
with Adam(1e-4, beta_1 = 0.9) on batches of 16 random 96x96 HR crops and their 24x24 LR. The paper drew its
crops from 350 thousand ImageNet images and trained 10^6 steps; here they come from T91, BSD200 (the BSDS300
training split) and Sun-Hays80 where present (zoo.data.natural), flipped and rotated, for the steps that fit in
--minutes. Each training image's LR is MATLAB's bicubic imresize(hr, 1/4) of the whole image, made once;
crops are taken from it and from the HR at aligned places (zoo.models.superres.SRPairs).

Measured as recipes/sr_bicubic.py measures bicubic, the protocol of Ledig et al.'s Table 2: each test image
cropped to multiples of 4, its LR made by MATLAB's bicubic on uint8, the output clipped and taken to 8 bits,
PSNR and SSIM on the Y channel with 4 pixels cropped at each border (zoo.metrics.psnr.sr_scores). References
(the paper, Table 2, SRResNet PSNR): Set5 32.05, Set14 28.49, BSD100 27.58; its SSIM column is higher than
Wang et al.'s SSIM computed here (see recipes/sr_bicubic.py), so bicubic's SSIM is recorded beside ours.

    python recipes/srresnet.py                        # full run: --minutes of training + evaluation; writes
                                                      # checkpoints/srresnet_x4, results/srresnet_x4.json, a picture
    python recipes/srresnet.py --width 32 --blocks 8  # a CPU-sized model
    python recipes/srresnet.py --residual             # learn what bicubic upsampling misses (not the paper's)
    python recipes/srresnet.py --steps 100000         # a fixed number of steps instead of --minutes
    python recipes/srresnet.py --quick                # ~1 minute on tiny settings, writes under logs/
    python recipes/srresnet.py --resume               # continue a stopped run
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py, recipes/sr_bicubic.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import sr_bicubic  # noqa: E402

from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import natural  # noqa: E402
from zoo.evaluation import mean_of, super_resolution_scores, with_protocol  # noqa: E402
from zoo.models.superres import SRPairs, SRResNet, low_resolution_pairs  # noqa: E402
from zoo.viz import save_rows  # noqa: E402

NAME = "srresnet_x4"
SCALE = 4
DESCRIPTION = ("SRResNet (Ledig et al. 2017) x4 super-resolution of RGB or grey photographs, trained with the MSE "
               "on T91 + BSD200 + Sun-Hays80 crops; tested on Set5, Set14 and BSD100 beside bicubic.")
RESIDUAL = (" Its output is added to the bicubic upsampling of the input (VDSR's global residual, not the "
            "paper's): the paper's generator had not passed bicubic after 4750 CPU steps.")
# Ledig et al. 2017, Table 2, SRResNet x4: (PSNR dB, SSIM as the paper computed it)
PAPER = {"set5": (32.05, 0.9019), "set14": (28.49, 0.8184), "bsd100": (27.58, 0.7620)}
SHOWN = 2  # images of each test set in the picture
CROP = 96  # HR pixels of each crop shown
PROTOCOL = (f"HR cropped to multiples of {SCALE}; LR = MATLAB imresize(hr, 1/{SCALE}) (bicubic, antialiased) on "
            f"uint8; the output clipped to [0, 1] and taken to 8 bits; PSNR/SSIM on Y (BT.601; grey images as they "
            f"are), {SCALE} pixels cropped at each border; SSIM of Wang et al. 2004 (11x11 Gaussian, sigma 1.5)")


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="training budget: the steps that fit in it are measured on this machine first")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps; overrides --minutes (use the steps of a results file to rerun it)")
    parser.add_argument("--steps-per-epoch", type=int, default=250, help="steps between logs and saved states")
    parser.add_argument("--batch-size", type=int, default=16, help="crops per step (16 in the paper)")
    parser.add_argument("--patch-size", type=int, default=96, help="HR crop side, a multiple of 4 (96 in the paper)")
    parser.add_argument("--width", type=int, default=64, help="feature maps of the generator (64 in the paper)")
    parser.add_argument("--blocks", type=int, default=16, help="residual blocks (16 in the paper)")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="Adam's (1e-4 in the paper)")
    parser.add_argument("--residual", action="store_true",
                        help="add the output to bicubic upsampling of the input (VDSR's global residual; not the "
                             "paper's): the network starts at bicubic's quality")
    parser.add_argument("--sets", nargs="+", default=list(natural.TRAIN_SETS), choices=natural.TRAIN_SETS,
                        help="training image sets; those missing from the data folder are left out, but for T91")
    parser.add_argument("--eval-images", type=int, default=None, help="test images per set (default: all)")
    parser.add_argument("--tile", type=int, default=None,
                        help="upscale test images in LR tiles of this side (same output, less memory)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="evaluate these trained weights (.weights.h5) instead of training")
    args = parser.parse_args(argv)
    if args.patch_size < SCALE or args.patch_size % SCALE:
        parser.error(f"--patch-size must be a positive multiple of {SCALE}; got {args.patch_size}")
    if args.quick:
        args.steps, args.steps_per_epoch, args.batch_size, args.patch_size = args.steps or 50, 25, 4, 48
        args.width, args.blocks, args.sets, args.eval_images = 8, 2, ["t91"], 2
    return args


def build(args):
    return SRResNet(channels=3, width=args.width, blocks=args.blocks, scale=SCALE, residual=args.residual)


def compile_model(model, learning_rate):
    # TF: no XLA on CPU (as the other recipes); JAX always jits; torch runs eagerly.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.9), jit_compile=_common.jit_compile())


def training_sets(args):
    """`--sets` that the data folder holds (T91 is required: its absence is an error, not a smaller run)."""
    return tuple(s for s in args.sets if s == "t91" or natural.set_folder(s).is_dir())


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"image_files": [f for s in training_sets(args) for f in natural.image_files(s)]}


def training_pairs(args):
    """Every training image (RGB, at least a crop in size) and its MATLAB bicubic LR, made once."""
    sets = training_sets(args)
    images = natural.training_images(sets=sets, channels=3, min_side=args.patch_size)
    total = sum(len(natural.image_files(s)) for s in sets)
    if len(images) < total:
        print(f"{total - len(images)} of {total} training images are smaller than a {args.patch_size}-pixel crop "
              "and are left out", flush=True)
    clock = _common.Stopwatch()
    pairs = low_resolution_pairs(images, SCALE)
    print(f"{len(pairs)} training images from {', '.join(sets)}; their LR made in {clock.seconds:.0f} s", flush=True)
    return sets, pairs


def budget_steps(args, pairs):
    """How many steps fit in `args.minutes`, timed on a throwaway copy of the model."""
    probe = build(args)
    compile_model(probe, args.learning_rate)
    batch = SRPairs(pairs, SCALE, args.patch_size, args.batch_size, steps=1, seed=args.seed).batch(0)
    return _common.steps_for_budget(probe, batch, args.minutes, args.steps_per_epoch)


def train(model, pairs, args):
    """Trains `args.steps` steps (resumable); returns the steps done, the history and the training state."""
    steps_per_epoch = min(args.steps_per_epoch, args.steps)
    epochs = math.ceil(args.steps / steps_per_epoch)
    data = SRPairs(pairs, SCALE, patch_size=args.patch_size, batch_size=args.batch_size, steps=steps_per_epoch,
                   seed=args.seed)
    compile_model(model, args.learning_rate)  # constant, as the paper's SRResNet
    state = _common.training_state(args, NAME, model, exclude=("eval_images", "tile"))
    history = _common.fit(model, data, epochs, args, state)
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations)), history, state


def evaluate(model, args):
    """Per set: the model's and bicubic's mean Y PSNR / SSIM (zoo.evaluation's super_resolution protocol), per
    image too; and the crops the picture shows."""
    sets, shown, measurements = {}, [], {}
    for name, (paper_psnr, paper_ssim) in PAPER.items():
        scores, pictures = super_resolution_scores(model, name, SCALE, images=args.eval_images, tile=args.tile,
                                                   pictures=SHOWN)
        measurements.update(set_measurements(name, scores))
        shown += [[_crop(outputs["bicubic"]), _crop(outputs["model"]), _crop(hr)] for hr, outputs in pictures]
        mean = {f"{prefix}{key}": float(np.mean([s[method][key] for s in scores.values()]))
                for method, prefix in (("model", ""), ("bicubic", "bicubic_")) for key in ("psnr", "ssim")}
        sets[name] = {
            "images": len(scores), **{k: round(v, 4) for k, v in mean.items()},
            "paper_psnr": paper_psnr, "paper_ssim": paper_ssim, "paper_bicubic_psnr": sr_bicubic.PAPER[name][0],
            "per_image": {stem: {"psnr": round(s["model"]["psnr"], 4), "ssim": round(s["model"]["ssim"], 4),
                                 "bicubic_psnr": round(s["bicubic"]["psnr"], 4)} for stem, s in scores.items()},
        }
        print(f"{sr_bicubic.TITLES[name]} ({len(scores)} images): PSNR {mean['psnr']:.2f} dB (bicubic "
              f"{mean['bicubic_psnr']:.2f}, paper's SRResNet {paper_psnr}), SSIM {mean['ssim']:.4f} (bicubic "
              f"{mean['bicubic_ssim']:.4f})", flush=True)
    return sets, shown, measurements


def set_measurements(name, scores, methods=(("model", ""), ("bicubic", "bicubic_"))):
    """`{metric key: zoo.evaluation.Measurement}` of one test set's per-image scores, as the protocol keys them."""
    return {f"{name}_{prefix}{key}": mean_of([s[method][key] for s in scores.values()])
            for method, prefix in methods for key in next(iter(scores.values()))[method]}


def protocol_args(args, judge=None):
    """The card's `super_resolution` protocol arguments: what `zoo evaluate` needs to measure it again."""
    return {"scale": SCALE, "sets": list(PAPER), "judge": judge, "images": args.eval_images}


def _crop(image, size=CROP):
    """The centre `size` x `size` of an image, clipped to [0, 1], in colour (a grey image repeated)."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    crop = np.clip(image[top:top + size, left:left + size], 0, 1)
    return np.repeat(crop, 3 // crop.shape[-1], axis=-1)


def metrics_list(sets):
    metrics = []
    for name, row in sets.items():
        title = sr_bicubic.TITLES[name]
        split = f"{title}, {row['images']} images, x{SCALE}"
        where = f"on {title} (Y, {SCALE}-pixel border cropped)"
        paper_psnr, paper_ssim = PAPER[name]
        metrics += [
            {"key": f"{name}_psnr", "name": f"PSNR x{SCALE} {where}", "value": round(row["psnr"], 2), "unit": "dB",
             "lower_is_better": False, "split": split,
             "reference": f"SRResNet {paper_psnr}, bicubic {sr_bicubic.PAPER[name][0]} (Ledig et al. 2017)"},
            {"key": f"{name}_ssim", "name": f"SSIM x{SCALE} {where}", "value": round(row["ssim"], 4), "unit": "",
             "lower_is_better": False, "split": split,
             "reference": f"SRResNet {paper_ssim} (Ledig et al. 2017, an SSIM above Wang et al.'s computed here)"},
            {"key": f"{name}_bicubic_psnr", "name": f"Bicubic x{SCALE} PSNR {where} (the floor)",
             "value": round(row["bicubic_psnr"], 2), "unit": "dB", "lower_is_better": False, "split": split},
            {"key": f"{name}_bicubic_ssim", "name": f"Bicubic x{SCALE} SSIM {where} (the floor)",
             "value": round(row["bicubic_ssim"], 4), "unit": "", "lower_is_better": False, "split": split},
        ]
    return metrics


def save_picture(shown, path):
    """Rows: bicubic / SRResNet / original; columns: the centre crops of the first images of each test set."""
    return save_rows([np.stack([column[k] for column in shown]) for k in range(3)], path)


def dataset_card(sets, pairs, args, measured):
    """The checkpoint card's dataset entry: the training sets and crops, the test sets and their sizes."""
    n_test = ", ".join(f"{name} {row['images']}" for name, row in measured.items())
    return {"name": "set5",
            "license": "research use (T91, BSDS, Sun-Hays80, Set5, Set14: the collections state no license)",
            "url": "https://github.com/jbhuang0604/SelfExSR",
            "split": f"train: {', '.join(sets)} ({len(pairs)} images, {args.patch_size}-pixel HR crops); test: Set5, "
                     f"Set14, BSD100 ({n_test} images)"}


def how_to_load(name):
    return ("```python\nimport numpy as np\nfrom PIL import Image\n\nimport zoo\n\n"
            f"model = zoo.load(\"{name}\")\n"
            "image = np.asarray(Image.open(\"photo.png\").convert(\"RGB\"), \"float32\") / 255  # or .convert(\"L\")\n"
            "large = model.upscale(image)  # (4 H, 4 W, 3) in [0, 1]; tile=128 for large images\n```")


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    if not args.weights:
        _common.check_state(args, NAME)  # before the data: a bad --resume fails at once

    model = build(args)
    if args.weights:
        sets, pairs = training_sets(args), []
        model.load_weights(args.weights)
        steps, history, state = None, None, None
    else:
        sets, pairs = training_pairs(args)
        if args.steps is None:  # a resumed run keeps the steps its budget gave when it began
            resumed = _common.resumed_config(args, NAME)
            args.steps = resumed["steps"] if resumed else budget_steps(args, pairs)
        steps, history, state = train(model, pairs, args)
        print(f"trained {steps} steps in {state.seconds:.0f} s", flush=True)
    eval_clock = _common.Stopwatch()
    measured, shown, measurements = evaluate(model, args)
    eval_seconds = eval_clock.seconds
    print(f"evaluated in {eval_seconds:.0f} s", flush=True)

    metrics = with_protocol(metrics_list(measured), "super_resolution", protocol_args(args), measurements)
    results = _common.results_record(
        NAME, args, metrics, state, history, eval_seconds=eval_seconds, steps=steps, scale=SCALE,
        batch_size=args.batch_size, patch_size=args.patch_size, width=args.width, blocks=args.blocks,
        residual=args.residual, learning_rate=args.learning_rate, training_sets=list(sets),
        training_images=len(pairs), sets=measured,
        paper="Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network, "
              "CVPR 2017, Table 2 (SRResNet, bicubic)",
        protocol=PROTOCOL)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": DESCRIPTION + (RESIDUAL if args.residual else ""),
        "paper": "Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                 "Network, CVPR 2017 (arXiv:1609.04802)",
        "family": "superres",
        "pipeline_tag": "image-to-image",
        "license": "apache-2.0",
        "dataset": dataset_card(sets, pairs, args, measured),
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "steps": steps,
        "tags": ["super-resolution", "srresnet", "image-to-image", "set5", "set14", "bsd100"],
        "how_to_load": how_to_load(NAME),
        "intended_use": "Upscaling grey or colour photographs 4x in each side, where the low-resolution image was "
                        "made by bicubic downscaling; a baseline for super-resolution experiments; the starting "
                        "point of an SRGAN (zoo.models.superres.SRGAN.from_srresnet).",
        "limitations": "Trained on CPU for far fewer steps, on far fewer images (a few hundred, not ImageNet's "
                       "350 thousand), than the paper, so it trails its SRResNet. Only bicubic-downscaled inputs: "
                       "blur, noise or JPEG artefacts in the input are out of its training. Trained with the MSE, "
                       "its output is smooth (the paper's point: SRGAN's textures score lower PSNR but look real).",
    })
    _common.write_json(results_path, results)
    save_picture(shown, results_path.with_name(f"{NAME}_pictures.png"))
    print(f"wrote {out}, {results_path} and its picture")
    return results


if __name__ == "__main__":
    _common.run(main)
