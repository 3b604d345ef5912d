"""Recipe: SRGAN x4 (srgan_x4), started from a trained SRResNet, judged beside it and bicubic on Set5, Set14, BSD100.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network", CVPR
2017 (arXiv:1609.04802), Sec. 3: the SRResNet's generator (recipes/srresnet.py) trained on the perceptual loss
of Eq. 3, a content loss on the features of a frozen network plus 1e-3 x the adversarial loss, against the
paper's discriminator; Adam(1e-4, beta_1 = 0.9), then as many steps again at 1e-5 (here: the learning rate drops
tenfold at half of --steps); batches of 16 random 96x96 HR crops. The paper's content network is VGG19 on
ImageNet, at conv5_4 after its ReLU (VGG54); no ImageNet is reachable offline, so it is the zoo's naturalnet
(recipes/natural_features.py, rotation prediction on the training images only) at conv4_4, its last
convolution before the last pooling, the analogue of VGG54. The paper divides VGG's features by 12.75 "to obtain
VGG losses of a scale that is comparable to the MSE loss"; here that scale is measured for naturalnet: the
content weight is the MSE of the starting SRResNet's outputs divided by their content loss, on --calibration
batches of training crops (`--content-weight` sets it by hand).

Judged by networks the training never used: PSNR / SSIM as recipes/srresnet.py measures them, and the
patch-level perceptual distance of natural_judge (zoo.models.natural_features.perceptual_distance: LPIPS-style
on another network, trained on another pretext) between each output and its original, for SRGAN, the SRResNet it
started from and bicubic. References (the paper, Table 2, SRGAN): PSNR 29.40 / 26.02 / 25.16, lower than
SRResNet's by design, its outputs' textures being sharper.

The bundled checkpoint holds the generator, the discriminator and the frozen content network, so it fine-tunes
as it is; to stay under the zoo's 25 MB the discriminator averages its last feature map over positions instead
of flattening it into the dense layer (`--discriminator pooled`, the default; `paper` flattens a 96-pixel crop's
6x6x512 map into 18.9M weights, 75 MB), and its widths are half the paper's (`--discriminator-width 32`: 1.4M
weights; at 64 the pooled discriminator has 5.2M and the checkpoint, with the generator's 1.6M and naturalnet's
2.7M, would be 38 MB).

    python recipes/srgan.py                                  # from checkpoints/srresnet_x4 with checkpoints/naturalnet
    python recipes/srgan.py --steps 20000                    # a fixed number of steps instead of --minutes
    python recipes/srgan.py --quick                          # ~1 minute, tiny untrained networks, writes under logs/
    python recipes/srgan.py --resume                         # continue a stopped run
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py, srresnet.py, sr_bicubic.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import sr_bicubic  # noqa: E402
import srresnet  # noqa: E402

import zoo  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import natural  # noqa: E402
from zoo.losses import PerceptualLoss  # noqa: E402
from zoo.evaluation import super_resolution_scores, with_protocol  # noqa: E402
from zoo.models.natural_features import NaturalJudge, RotationNet  # noqa: E402
from zoo.models.superres import SRGAN, SRPairs, SRResNet  # noqa: E402
from zoo.viz import save_rows  # noqa: E402

NAME = "srgan_x4"
SCALE = srresnet.SCALE
DESCRIPTION = ("SRGAN (Ledig et al. 2017) x4 super-resolution of RGB or grey photographs: SRResNet's generator "
               "fine-tuned on a content loss through the zoo's naturalnet (conv4_4) plus the adversarial loss; "
               "tested on Set5, Set14 and BSD100 beside its SRResNet and bicubic.")
# Ledig et al. 2017, Table 2, SRGAN (VGG54) x4: (PSNR dB, SSIM as the paper computed it)
PAPER = {"set5": (29.40, 0.8472), "set14": (26.02, 0.7397), "bsd100": (25.16, 0.6688)}
METHODS = ("bicubic", "srresnet", "srgan")


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--srresnet", default=str(_common.ROOT / "checkpoints" / "srresnet_x4"),
                        help="the trained SRResNet to start from: a checkpoint folder or a registry name")
    parser.add_argument("--features", default=str(_common.ROOT / "checkpoints" / "naturalnet"),
                        help="the content loss's network: a naturalnet checkpoint folder or registry name")
    parser.add_argument("--feature-layer", default="conv4_4", help="its layer the content loss compares")
    parser.add_argument("--judge", default=str(_common.ROOT / "checkpoints" / "natural_judge"),
                        help="the judge of the perceptual distance: a natural_judge checkpoint or registry name")
    parser.add_argument("--content-weight", type=float, default=None,
                        help="the content loss's weight (default: measured, MSE / content loss of the SRResNet)")
    parser.add_argument("--adversarial-weight", type=float, default=1e-3, help="(1e-3 in the paper)")
    parser.add_argument("--pixel-weight", type=float, default=0.0,
                        help="weight of a pixel MSE term beside the content loss (0 in the paper's SRGAN-VGG54)")
    parser.add_argument("--calibration", type=int, default=8, help="training batches that measure the weight")
    parser.add_argument("--discriminator", choices=("pooled", "paper"), default="pooled",
                        help="pooled: global average pooling before the dense layer (fits 25 MB); paper: flatten")
    parser.add_argument("--antialias", action="store_true",
                        help="blur before the discriminator's strided convolutions (not in the paper): its gradient "
                        "then carries no checkerboard (recipes/srgan_artifacts.py)")
    parser.add_argument("--fixed-upsampler", action="store_true",
                        help="train only the generator's LR-resolution trunk, keeping the SRResNet's sub-pixel "
                        "stages and last convolution (not in the paper), where the 4-pixel grid sat; with them "
                        "fixed the trunk learned half as much of it (recipes/srgan_artifacts.py)")
    parser.add_argument("--discriminator-width", type=int, default=32,
                        help="its first width (64 in the paper; 32 here to fit the checkpoint in 25 MB)")
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="training budget: the steps that fit in it are measured on this machine first")
    parser.add_argument("--steps", type=int, default=None, help="training steps; overrides --minutes")
    parser.add_argument("--steps-per-epoch", type=int, default=250, help="steps between logs and saved states")
    parser.add_argument("--batch-size", type=int, default=16, help="crops per step (16 in the paper)")
    parser.add_argument("--patch-size", type=int, default=96, help="HR crop side, a multiple of 4 (96 in the paper)")
    parser.add_argument("--learning-rate", type=float, default=1e-4,
                        help="Adam's for the first half of the steps, a tenth of it for the second (the paper's)")
    parser.add_argument("--sets", nargs="+", default=list(natural.TRAIN_SETS), choices=natural.TRAIN_SETS,
                        help="training image sets; those missing from the data folder are left out, but for T91")
    parser.add_argument("--eval-images", type=int, default=None, help="test images per set (default: all)")
    parser.add_argument("--tile", type=int, default=None, help="upscale test images in LR tiles of this side")
    args = parser.parse_args(argv)
    if args.patch_size < SCALE or args.patch_size % SCALE:
        parser.error(f"--patch-size must be a positive multiple of {SCALE}; got {args.patch_size}")
    if args.quick:
        args.steps, args.steps_per_epoch, args.batch_size, args.patch_size = args.steps or 4, 2, 2, 48
        args.sets, args.eval_images, args.calibration, args.discriminator_width = ["t91"], 1, 1, 8
    return args


def training_data(args):
    """What the recipe trains on (tests/test_test_sets.py keeps test sets out of it): SRResNet's crops."""
    return srresnet.training_data(args)


def quick_networks(seed):
    """--quick's stand-ins: a tiny SRResNet, content network and judge, untrained (the recipe's plumbing only)."""
    keras.utils.set_random_seed(seed)
    start = SRResNet(channels=3, width=8, blocks=2, scale=SCALE)
    features = RotationNet(widths=(4, 4, 8, 8), hidden=8, batch_norm=True)
    judge = NaturalJudge(widths=(4, 8, 8), hidden=8, tile_size=8, gap=2, jitter=1)
    start(np.zeros((1, 12, 12, 3), "float32"))
    return start, features, judge


def networks(args):
    """The SRResNet to start from, the content network and the judge, loaded (or --quick's stand-ins)."""
    if args.quick:
        return quick_networks(args.seed)
    loaded = {flag: zoo.load(getattr(args, flag)) for flag in ("srresnet", "features", "judge")}
    for flag, cls in (("srresnet", SRResNet), ("features", RotationNet), ("judge", NaturalJudge)):
        if not isinstance(loaded[flag], cls):
            raise SystemExit(f"error: --{flag} {getattr(args, flag)} is a {type(loaded[flag]).__name__}; "
                             f"expected a {cls.__name__} checkpoint")
    return loaded["srresnet"], loaded["features"], loaded["judge"]


def build(args, start, features, content_weight):
    return SRGAN.from_srresnet(
        start, features.body, args.feature_layer, content_weight=content_weight,
        pixel_weight=args.pixel_weight, adversarial_weight=args.adversarial_weight,
        discriminator_width=args.discriminator_width, antialias=args.antialias, fixed_upsampler=args.fixed_upsampler,
        discriminator_size=args.patch_size if args.discriminator == "paper" else None, seed=args.seed)


def calibrate(start, features, data, args):
    """The paper's 1/12.75^2 for this content network: mean MSE / mean content loss of the starting SRResNet's
    outputs on `args.calibration` training batches (batch index from the end of epoch 0's, not trained on)."""
    content_loss = PerceptualLoss(features.body, args.feature_layer)
    mse, content = [], []
    for k in range(args.calibration):
        lr, hr = data.batch(data.steps - 1 - k % data.steps, epoch=10 ** 6 + k)
        sr = start.generator(lr, training=False)  # a tensor, unclipped, as the training step sees it
        mse.append(float(np.mean(np.square(keras.ops.convert_to_numpy(sr) - hr))))
        content.append(float(keras.ops.convert_to_numpy(content_loss(hr, sr))))
    weight = float(np.mean(mse) / max(np.mean(content), 1e-12))
    print(f"content weight {weight:.4g}: the SRResNet's MSE {np.mean(mse):.4g} / its {args.feature_layer} content "
          f"loss {np.mean(content):.4g} on {args.calibration} training batches", flush=True)
    return weight, {"mse": float(np.mean(mse)), "content_loss": float(np.mean(content))}


def compile_model(model, args):
    """Adam(--learning-rate, beta_1 = 0.9) for both players, a tenth of it from half of the steps on."""
    def optimizer():
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
            [max(1, args.steps // 2)], [args.learning_rate, args.learning_rate / 10])
        return keras.optimizers.Adam(schedule, beta_1=0.9)

    model.compile(optimizers={name: optimizer() for name in model.players}, jit_compile=_common.jit_compile())


def budget_steps(args, model, data):
    """How many steps fit in `args.minutes`, timed on `model` (compiled here with a throwaway schedule)."""
    steps, args.steps = args.steps, 2
    compile_model(model, args)
    args.steps = steps
    return _common.steps_for_budget(model, data.batch(0), args.minutes, args.steps_per_epoch, probe_steps=3)


def evaluate(model, start, judge, args):
    """Per set and method (bicubic, the SRResNet it started from, the SRGAN): mean Y PSNR / SSIM and the judge's
    perceptual distance to the original (zoo.evaluation's super_resolution protocol), per image too; the SRGAN's
    and bicubic's as `zoo.evaluation.Measurement`s; and the centre crops the picture shows."""
    sets, shown, measurements = {}, [], {}
    for name, (paper_psnr, paper_ssim) in PAPER.items():
        ours, pictures = super_resolution_scores(model, name, SCALE, judge, args.eval_images, args.tile,
                                                 pictures=srresnet.SHOWN)
        theirs, before = super_resolution_scores(start, name, SCALE, judge, args.eval_images, args.tile,
                                                 bicubic=False, pictures=srresnet.SHOWN)
        measurements.update(srresnet.set_measurements(name, ours))
        per_image = {stem: {"bicubic": ours[stem]["bicubic"], "srresnet": theirs[stem]["model"],
                            "srgan": ours[stem]["model"]} for stem in ours}
        shown += [[srresnet._crop(image) for image in (outputs["bicubic"], start_outputs["model"], outputs["model"],
                                                       hr)] for (hr, outputs), (_, start_outputs) in zip(pictures,
                                                                                                         before)]
        row = {"images": len(per_image), "paper_psnr": paper_psnr, "paper_ssim": paper_ssim,
               "per_image": {stem: {m: {k: round(float(v), 4) for k, v in scores.items()}
                                    for m, scores in methods.items()} for stem, methods in per_image.items()}}
        for method in METHODS:
            for key in ("psnr", "ssim", "perceptual"):
                row[f"{method}_{key}"] = round(float(np.mean([s[method][key] for s in per_image.values()])), 4)
        sets[name] = row
        print(f"{sr_bicubic.TITLES[name]} ({len(per_image)} images): " + "; ".join(
            f"{method} PSNR {row[f'{method}_psnr']:.2f} SSIM {row[f'{method}_ssim']:.4f} perceptual "
            f"{row[f'{method}_perceptual']:.4f}" for method in METHODS) + f" (paper's SRGAN {paper_psnr} dB)",
            flush=True)
    return sets, shown, measurements


def metrics_list(sets):
    metrics = []
    titles = {"bicubic": "Bicubic", "srresnet": "Its SRResNet (the start)", "srgan": "SRGAN"}
    for name, row in sets.items():
        title = sr_bicubic.TITLES[name]
        split = f"{title}, {row['images']} images, x{SCALE}"
        where = f"on {title}"
        for method in ("srgan", "srresnet", "bicubic"):
            prefix = "" if method == "srgan" else f"{method}_"
            label = "" if method == "srgan" else f"{titles[method]}: "
            reference = {"reference": f"SRGAN {row['paper_psnr']} (Ledig et al. 2017)"} if method == "srgan" else {}
            if method == "srresnet":  # a model the checkpoint does not hold
                reference["not_evaluated"] = "the SRResNet this SRGAN started from: zoo evaluate it"
            metrics += [
                {"key": f"{name}_{prefix}psnr", "name": f"{label}PSNR x{SCALE} {where} (Y, {SCALE}-pixel border "
                 "cropped)", "value": round(row[f"{method}_psnr"], 2), "unit": "dB", "lower_is_better": False,
                 "split": split, **reference},
                {"key": f"{name}_{prefix}ssim", "name": f"{label}SSIM x{SCALE} {where} (Y, Wang et al.)",
                 "value": round(row[f"{method}_ssim"], 4), "unit": "", "lower_is_better": False, "split": split},
                {"key": f"{name}_{prefix}perceptual", "name": f"{label}perceptual distance to the original {where} "
                 "(natural_judge, LPIPS-style)", "value": round(row[f"{method}_perceptual"], 4), "unit": "",
                 "lower_is_better": True, "split": split},
            ]
    return metrics


def _registry_name(model):
    """A bundled checkpoint's registry name (what a card's protocol can load anywhere), else the path given."""
    path = Path(model)
    return path.name if path.parent == _common.ROOT / "checkpoints" else str(model)


def save_picture(shown, path):
    """Rows: bicubic / SRResNet / SRGAN / original; columns: centre crops of the first images of each test set."""
    return save_rows([np.stack([column[k] for column in shown]) for k in range(len(METHODS) + 1)], path)


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    _common.check_state(args, NAME)  # before the data: a bad --resume fails at once

    start, features, judge = networks(args)
    sets, pairs = srresnet.training_pairs(args)
    data_for = lambda steps: SRPairs(pairs, SCALE, patch_size=args.patch_size,  # noqa: E731
                                     batch_size=args.batch_size, steps=steps, seed=args.seed)
    resumed = _common.resumed_config(args, NAME)
    if args.content_weight is None:  # a resumed run keeps the weight it began with
        args.content_weight, calibration = (resumed["content_weight"], None) if resumed else \
            calibrate(start, features, data_for(max(args.calibration, 1)), args)
    else:
        calibration = None
    model = build(args, start, features, args.content_weight)
    if args.steps is None:
        args.steps = resumed["steps"] if resumed else budget_steps(args, model, data_for(1))

    steps_per_epoch = min(args.steps_per_epoch, args.steps)
    compile_model(model, args)
    state = _common.training_state(args, NAME, model, exclude=("eval_images", "tile", "judge"))
    if calibration is not None:
        state.record["calibration"] = calibration
    history = _common.fit(model, data_for(steps_per_epoch), math.ceil(args.steps / steps_per_epoch), args, state)
    steps = int(keras.ops.convert_to_numpy(model.optimizer.members["generator"].iterations))
    print(f"trained {steps} steps in {state.seconds:.0f} s", flush=True)

    eval_clock = _common.Stopwatch()
    measured, shown, measurements = evaluate(model, start, judge, args)
    eval_seconds = eval_clock.seconds
    print(f"evaluated in {eval_seconds:.0f} s", flush=True)

    judge_name = None if args.quick else _registry_name(args.judge)
    metrics = with_protocol(metrics_list(measured), "super_resolution", srresnet.protocol_args(args, judge_name),
                            measurements)
    results = _common.results_record(
        NAME, args, metrics, state, history, eval_seconds=eval_seconds, steps=steps, scale=SCALE,
        batch_size=args.batch_size, patch_size=args.patch_size, learning_rate=args.learning_rate,
        content_weight=args.content_weight, calibration=state.record.get("calibration"),
        feature_layer=args.feature_layer, pixel_weight=args.pixel_weight,
        adversarial_weight=args.adversarial_weight, discriminator=args.discriminator,
        discriminator_width=args.discriminator_width, antialias=args.antialias, fixed_upsampler=args.fixed_upsampler,
        started_from=None if args.quick else str(args.srresnet), content_network=None if args.quick else
        str(args.features), judge=None if args.quick else str(args.judge), training_sets=list(sets),
        training_images=len(pairs), sets=measured,
        paper="Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network, "
              "CVPR 2017, Table 2 (SRGAN)",
        protocol=srresnet.PROTOCOL + "; perceptual distance: natural_judge between the 8-bit output and the "
                 "original, whole images")
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": DESCRIPTION,
        "paper": "Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                 "Network, CVPR 2017 (arXiv:1609.04802)",
        "family": "superres",
        "pipeline_tag": "image-to-image",
        "license": "apache-2.0",
        "dataset": srresnet.dataset_card(sets, pairs, args, measured),
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "steps": steps,
        "tags": ["super-resolution", "srgan", "gan", "image-to-image", "set5", "set14", "bsd100"],
        "how_to_load": srresnet.how_to_load(NAME),
        "intended_use": "Upscaling grey or colour photographs 4x in each side with sharper textures than an "
                        "MSE-trained model, where the low-resolution image was made by bicubic downscaling; "
                        "fine-tuning an SRGAN on other photographs (the discriminator and content network come "
                        "with it).",
        "limitations": "Trained on CPU from a CPU-trained SRResNet, on a few hundred images, for far fewer steps "
                       "than the paper; its content network is the zoo's naturalnet (rotation prediction), not "
                       "ImageNet's VGG19, so its textures are those that network's conv4_4 tells apart. The "
                       "discriminator pools its last feature map and has half the paper's widths (made smaller to fit "
                       "25 MB). PSNR is lower than SRResNet's by design; judge it by the pictures and the perceptual "
                       "distance.",
    })
    _common.write_json(results_path, results)
    save_picture(shown, results_path.with_name(f"{NAME}_pictures.png"))
    print(f"wrote {out}, {results_path} and its picture")
    return results


if __name__ == "__main__":
    _common.run(main)
