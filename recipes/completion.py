"""Recipe: content-aware fill (completion_faces, completion_scenes, completion_digits) beside classical fills.

Iizuka, Simo-Serra & Ishikawa, "Globally and Locally Consistent Image Completion", SIGGRAPH 2017: the
completion network, the global and local discriminators and the paper's three phases (zoo/models/completion.py):
T_C steps of the completion network alone on the MSE in the hole, T_D steps of the discriminators alone, then
both with alpha = 0.0004; the paper's T_C : T_D : joint is 90k : 10k : 400k at batch 96 on 8 million Places2
images. Here, on a CPU, the same order at --batch-size 16 and a few thousand steps, sized by --data:

- faces: Olivetti at 64x64, trained on the 30 people of the groundwork's person split (300 images, mirrored),
  tested on the 10 held-out people (100 images); holes with sides of 16-32 pixels, the local patch 32.
- scenes: 128x128 random crops of T91, BSD200 and Sun-Hays80 (mirrored), tested on the centre 128x128 crop of
  each CBSD68 image (68); holes with sides of 32-64, the local patch 64 (the paper's 96-128 and 128 on 256).
- digits: MNIST at 28x28 (the quick case), holes of 8-14, the local patch 16.

Each test image gets one fixed, seeded rectangle (zoo.data.masks.test_masks), saved with the results
(results/<name>_test_masks.npz). Measured on the hole's pixels only (zoo.metrics.hole): PSNR, SSIM on the hole's
bounding box, L1, for the network, the network with the paper's post-processing (Telea, then Poisson blending),
and the classical fills on the same images and holes: the mean of the known pixels, scikit-image's biharmonic
inpainting and OpenCV's Telea. On faces, identity: the identity judge (olivetti_judge, never in training)
reads the person from the completed held-out faces (their images 7-9) beside the originals. Pictures: a grid
(original, the input, each fill) on test images, and the network on free-form holes.

    python recipes/completion.py --data faces            # -> checkpoints/completion_faces, results/...
    python recipes/completion.py --data scenes
    python recipes/completion.py --data faces --quick    # < 1 minute on tiny settings, writes under logs/
    python recipes/completion.py --data faces --resume   # continue a stopped run (any phase)
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import natural, olivetti  # noqa: E402
from zoo.data.masks import free_form_masks, save_masks  # noqa: E402
from zoo.evaluation import (  # noqa: E402
    completion_scores,
    completion_test_set,
    identity_accuracy,
    mean_of,
    with_protocol,
)
from zoo.metrics.judges import judge_name  # noqa: E402
from zoo.models.classical_fill import BASELINES  # noqa: E402
from zoo.models.completion import PHASES, CompletionBatches, ImageCompletion  # noqa: E402
from zoo.viz import save_rows  # noqa: E402

FAMILY = "completion"  # tests/test_test_sets.py: completion models never see the held-out people
PAPER = ("Iizuka, Simo-Serra & Ishikawa, Globally and Locally Consistent Image Completion, ACM TOG (SIGGRAPH) "
         "2017")
DATA = {
    "faces": {"name": "completion_faces", "channels": 1, "image_size": 64, "local_size": 32, "hole_sides": (16, 32),
              "width": 32, "discriminator_width": 16, "phase_steps": (3000, 300, 2000),
              "title": "Olivetti faces (10 held-out people)"},
    "scenes": {"name": "completion_scenes", "channels": 3, "image_size": 128, "local_size": 64,
               "hole_sides": (32, 64), "width": 32, "discriminator_width": 16, "phase_steps": (3000, 300, 1500),
               "title": "CBSD68 centre crops"},
    "digits": {"name": "completion_digits", "channels": 1, "image_size": 28, "local_size": 16, "hole_sides": (8, 14),
               "width": 16, "discriminator_width": 8, "phase_steps": (2000, 200, 1000),
               "title": "MNIST test digits"},
}
METHODS = ("mean", "biharmonic", "telea", "zoo", "zoo_blended")
SHOWN = 8  # test images in the picture grid


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", choices=tuple(DATA), default="faces", help="what to complete")
    parser.add_argument("--completion-steps", type=int, default=None, help="phase 1, T_C (default: per --data)")
    parser.add_argument("--discriminator-steps", type=int, default=None, help="phase 2, T_D (default: per --data)")
    parser.add_argument("--joint-steps", type=int, default=None, help="phase 3 (default: per --data)")
    parser.add_argument("--steps-per-epoch", type=int, default=250, help="steps between logs and saved states")
    parser.add_argument("--batch-size", type=int, default=16, help="(96 in the paper)")
    parser.add_argument("--width", type=int, default=None, help="completion network width (64 in the paper)")
    parser.add_argument("--discriminator-width", type=int, default=None, help="(64 in the paper)")
    parser.add_argument("--alpha", type=float, default=4e-4, help="the adversarial weight (0.0004 in the paper)")
    parser.add_argument("--optimizer", choices=("adadelta", "adam"), default="adadelta",
                        help="adadelta (the paper's, learning rate 1) or adam (2e-4, beta_1 0.5)")
    parser.add_argument("--eval-images", type=int, default=None, help="test images (default: all)")
    args = parser.parse_args(argv)
    settings = DATA[args.data]
    for flag, default in zip(("completion_steps", "discriminator_steps", "joint_steps"), settings["phase_steps"]):
        if getattr(args, flag) is None:
            setattr(args, flag, default)
    args.width = args.width or settings["width"]
    args.discriminator_width = args.discriminator_width or settings["discriminator_width"]
    if args.quick:
        args.completion_steps, args.discriminator_steps, args.joint_steps = 2, 1, 1
        args.steps_per_epoch, args.batch_size, args.width, args.discriminator_width = 1, 4, 4, 2
        args.eval_images = 10 if args.data == "faces" else 4  # faces: person 0, its images 7-9 judged
    return args


def scene_sets(args):
    """The natural-image sets scenes train on: T91 alone for --quick."""
    return ("t91",) if args.quick else natural.TRAIN_SETS


def training_images(args):
    """What the network trains on: the training people's faces, the natural-image training sets, or MNIST's
    training split (never a test set: tests/test_test_sets.py)."""
    if args.data == "faces":
        return olivetti.load_olivetti("train_people")[0]
    if args.data == "scenes":
        return natural.training_images(sets=scene_sets(args), channels=3, min_side=DATA["scenes"]["image_size"])
    import zoo.data

    return zoo.data.load("mnist", "train")[0][:512 if args.quick else None]


def training_data(args):
    if args.data == "scenes":
        return {"image_files": [f for s in scene_sets(args) for f in natural.image_files(s)]}
    return {"images": training_images(args)}


def mean_pixel(images):
    """The training set's mean pixel per channel, in [0, 1]: what the hole is filled with at the input."""
    total, count = 0.0, 0
    for image in images:
        image = np.asarray(image, np.float64) / (255.0 if np.asarray(image).dtype == np.uint8 else 1.0)
        total, count = total + image.reshape(-1, image.shape[-1]).sum(axis=0), count + image.shape[0] * image.shape[1]
    return [float(v) for v in total / count]


def build(args, fill):
    s = DATA[args.data]
    return ImageCompletion(channels=s["channels"], image_size=s["image_size"], local_size=s["local_size"],
                           hole_sides=s["hole_sides"], width=args.width, discriminator_width=args.discriminator_width,
                           fill=fill, alpha=args.alpha, seed=args.seed)


def compile_model(model, args):
    if args.optimizer == "adam":
        optimizers = {name: keras.optimizers.Adam(2e-4, beta_1=0.5) for name in model.players}
    else:
        optimizers = {name: keras.optimizers.Adadelta(1.0) for name in model.players}
    model.compile(optimizers=optimizers, jit_compile=_common.jit_compile())


def train(model, images, args):
    """The three phases in order, resumable inside any of them: one training state, its record saying which
    phase runs (each phase a `fit` of its own steps, on batches of its own seed)."""
    state = _common.training_state(args, DATA[args.data]["name"], model, exclude=("eval_images",))
    record = state.record
    steps = dict(zip(PHASES, (args.completion_steps, args.discriminator_steps, args.joint_steps)))
    record.setdefault("phases", {})
    for k, phase in enumerate(PHASES):
        if phase in record["phases"] or steps[phase] == 0:
            continue
        model.set_phase(phase)
        if record.get("phase") != phase:  # a new phase, not one a stopped run was inside
            record["phase"], state.position = phase, None
        per_epoch = min(args.steps_per_epoch, steps[phase])
        data = CompletionBatches(images, model.image_size, model.local_size, model.hole_sides,
                                 batch_size=args.batch_size, steps=per_epoch, seed=args.seed + k)
        print(f"phase {k + 1}, {phase}: {steps[phase]} steps", flush=True)
        history = _common.fit(model, data, math.ceil(steps[phase] / per_epoch), args, state)
        record["phases"][phase] = {"steps": steps[phase], "seconds": round(state.seconds, 1), "history": history}
        state.position = None
        state.save(model)
    state.position = {"epoch": 0, "batch": 0, "finished": True}  # a new run replaces it without --restart
    state.save(model)
    model.set_phase("joint" if steps["joint"] else "completion")
    return state


PREFIXES = {"zoo": "", "zoo_blended": "blended_", "mean": "mean_", "biharmonic": "biharmonic_",
            "telea": "telea_"}  # of each method's metric keys; the network's are the card protocol's own


def evaluate(model, args):
    """Every method's hole scores on the fixed test set (per image too), the identity judge on faces, and the
    completed images the pictures show."""
    x, masks, labels = completion_test_set(args.data, args.eval_images)
    fills = {name: BASELINES[name] for name in ("mean", "biharmonic", "telea")}
    fills["zoo"] = lambda image, mask: model.complete(image, mask)
    fills["zoo_blended"] = lambda image, mask: model.complete(image, mask, postprocess=True)
    scores, completed, measurements = {}, {}, {}
    for method in METHODS:
        clock = _common.Stopwatch()
        scores[method], completed[method] = completion_scores(fills[method], x, masks)
        measurements.update({f"{PREFIXES[method]}hole_{key}": mean_of(values)
                             for key, values in scores[method].items()})
        if args.data == "faces":
            measurements[f"{PREFIXES[method]}identity_accuracy"] = identity_accuracy(completed[method], labels)
        print(f"{method}: hole PSNR {np.mean(scores[method]['psnr']):.2f} dB, SSIM "
              f"{np.mean(scores[method]['ssim']):.4f}, L1 {np.mean(scores[method]['l1']):.4f}" +
              (f", identity {measurements[PREFIXES[method] + 'identity_accuracy'].value:.3f}"
               if args.data == "faces" else "") + f" ({clock.seconds:.0f} s)", flush=True)
    if args.data == "faces":
        measurements["identity_accuracy_originals"] = identity_accuracy(x, labels)
        print(f"identity on the originals {measurements['identity_accuracy_originals'].value:.3f}", flush=True)
    return x, masks, scores, completed, measurements


def metrics_list(args, measurements, n):
    """The card's metrics; the network's (plain and post-processed) with the `completion` protocol that
    `zoo evaluate` measures again, the baselines' without (they need no checkpoint)."""
    title = DATA[args.data]["title"]
    split = f"{title}, {n} images, one fixed rectangular hole each (zoo.data.masks.test_masks('{args.data}'))"
    names = {"": "The network", "blended_": "The network, post-processed (Telea + Poisson blending)",
             "mean_": "Mean fill (baseline)", "biharmonic_": "scikit-image inpaint_biharmonic (baseline)",
             "telea_": "OpenCV Telea (baseline)"}
    labels = {"hole_psnr": ("dB", False, "PSNR in the hole"), "hole_ssim": ("", False, "SSIM on the hole's box"),
              "hole_l1": ("", True, "L1 in the hole"),
              "identity_accuracy": ("", False, "identity judge (olivetti_judge) accuracy on the held-out 7-9")}
    metrics = []
    for key, m in measurements.items():
        if key == "identity_accuracy_originals":
            name, (unit, lower, label) = "The original images", labels["identity_accuracy"]
        else:
            prefix = next(p for p in sorted(names, key=len, reverse=True) if key.startswith(p)
                          and key[len(p):] in labels)
            name, (unit, lower, label) = names[prefix], labels[key[len(prefix):]]
        metrics.append({"key": key, "name": f"{name}: {label}", "value": round(m.value, 4), "unit": unit,
                        "lower_is_better": lower, "split": split})
    for postprocess, prefix in ((False, ""), (True, "blended_")):
        own = {key: m for key, m in measurements.items() if key.startswith(prefix) and not any(
            key.startswith(p) for p in names if len(p) > len(prefix))}
        metrics = with_protocol(metrics, "completion", {"kind": args.data, "images": args.eval_images,
                                                        "postprocess": postprocess}, own)
    return metrics


def save_pictures(x, masks, completed, args, model, results_path):
    """The grid (original, the network's input, each fill) on the first test images, and the network on
    free-form holes of the next ones."""
    shown = slice(0, min(SHOWN, len(x)))
    hole_input = np.where(masks[shown][..., None], np.asarray(model.fill, np.float32), x[shown])
    rows = [x[shown], hole_input] + [completed[m][shown] for m in METHODS]
    grid = save_rows(rows, results_path.with_name(f"{results_path.stem}_pictures.png"))
    free = free_form_masks(min(SHOWN, len(x)), x.shape[1:3], seed=1)
    others = x[-len(free):]
    demo = save_rows([others, np.where(free[..., None], np.asarray(model.fill, np.float32), others),
                      model.complete(others, free), model.complete(others, free, postprocess=True)],
                     results_path.with_name(f"{results_path.stem}_free_form.png"))
    return grid, demo


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    name = DATA[args.data]["name"]
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once

    images = training_images(args)
    fill = mean_pixel(images)
    model = build(args, fill)
    compile_model(model, args)
    state = train(model, images, args)
    steps = sum(p["steps"] for p in state.record["phases"].values())
    print(f"trained {steps} steps in {state.seconds:.0f} s", flush=True)

    eval_clock = _common.Stopwatch()
    x, masks, scores, completed, measurements = evaluate(model, args)
    eval_seconds = eval_clock.seconds
    metrics = metrics_list(args, measurements, len(x))
    masks_path = save_masks(results_path.with_name(f"{results_path.stem}_test_masks.npz"), masks,
                            kind=args.data, seed=0, images=len(x))
    s = DATA[args.data]
    results = _common.results_record(
        name, args, metrics, state, None, eval_seconds=eval_seconds, steps=steps, data=args.data,
        phases={p: {k: v for k, v in r.items()} for p, r in state.record["phases"].items()},
        image_size=s["image_size"], local_size=s["local_size"], hole_sides=list(s["hole_sides"]),
        width=args.width, discriminator_width=args.discriminator_width, fill=fill, batch_size=args.batch_size,
        optimizer=args.optimizer, alpha=args.alpha, training_images=len(images), test_images=len(x),
        test_masks=str(Path(masks_path).name), paper=PAPER,
        per_image={method: {k: [round(float(v), 4) for v in values] for k, values in scores[method].items()}
                   for method in METHODS},
        protocol="one rectangle per test image (zoo.data.masks.test_masks); PSNR (peak 1) and L1 over the hole's "
                 "pixels, SSIM (Wang et al.) on the hole's bounding box, grown to 11x11 where smaller; the known "
                 "pixels are the original's for every method")
    judge_note = f"; identity judged by {judge_name('olivetti')}" if args.data == "faces" else ""
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": f"Globally and locally consistent image completion (Iizuka et al. 2017) of "
                       f"{s['image_size']}x{s['image_size']} {args.data}: fills a hole given by a mask.",
        "paper": PAPER,
        "family": "completion",
        "pipeline_tag": "image-to-image",
        "license": "apache-2.0",
        "dataset": {"name": {"faces": "olivetti_faces", "scenes": "cbsd68", "digits": "mnist"}[args.data],
                    "split": f"train: {len(images)} images; test: {len(x)} {s['title']}{judge_note}"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "steps": steps,
        "tags": ["image-completion", "inpainting", "gan", args.data],
        "how_to_load": (
            "```python\nimport numpy as np\n\nimport zoo\n\n"
            f"model = zoo.load(\"{name}\")\n"
            f"image = ...  # float32 in [0, 1], {s['image_size']}x{s['image_size']} as trained (any size works)\n"
            "mask = np.zeros(image.shape[:2], bool); mask[20:40, 16:44] = True  # True in the hole\n"
            "filled = model.complete(image, mask, postprocess=True)\n```"),
        "intended_use": f"Filling rectangular or free-form holes in {args.data} like the training images; a "
                        "baseline for image completion experiments.",
        "limitations": f"Trained on a CPU for {steps} steps of {args.batch_size} on {len(images)} images, where "
                       "the paper trained 500 thousand steps of 96 on 8 million; the discriminators and widths "
                       "are narrower than the paper's (see the card's settings). Holes much larger than "
                       f"{s['hole_sides'][1]} pixels a side are outside its training.",
    })
    _common.write_json(results_path, results)
    save_pictures(x, masks, completed, args, model, results_path)
    print(f"wrote {out}, {results_path}, its masks and pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
