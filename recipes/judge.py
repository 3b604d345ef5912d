"""Recipe: the judges, classifiers that score what the zoo's models make and that no training ever uses.

A network inside a training loss must not also score the result (a model learns
to please the network it is trained against; zoo/metrics/judges.py). So each
dataset gets one judge, trained here with another architecture than the zoo's
feature networks (mnistnet, fashionnet, uspsnet: two plain convolution blocks;
the judges: residual blocks with BatchNorm and global average pooling, He et
al. 2016, `zoo.models.classifier.residual_features`), another seed, and random
shifts as augmentation (faces: shifts and mirror flips). A judge's card says it
is a judge; `zoo.metrics.judges.check_not_judge` keeps it out of losses.

Measured: test accuracy; for digits the real-vs-real floor of its Frechet
distance (10k test vs 10k training images; USPS: 2007 each) and how often it
agrees with the feature network of the same data. The identity judge of
Olivetti faces learns the 40 people from their images 0-6 (280) and is tested
on images 7-9 (120), and on those of the 10 people that generative and
completion models never see (`zoo.data.olivetti.HELD_OUT_PEOPLE`, 30 images).

    python recipes/judge.py --dataset mnist          # -> checkpoints/mnist_judge
    python recipes/judge.py --dataset fashion_mnist  # -> checkpoints/fashion_mnist_judge
    python recipes/judge.py --dataset usps           # -> checkpoints/usps_judge
    python recipes/judge.py --dataset olivetti       # -> checkpoints/olivetti_judge
    python recipes/judge.py --dataset mnist --quick  # < 1 minute, writes under logs/
"""

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402

import _common  # noqa: E402
from digit_classifier import DATASETS, NAMES, load, train  # noqa: E402
from zoo import registry  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import olivetti  # noqa: E402
from zoo.data.augment import random_flips, random_shifts  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.metrics.judges import JUDGES  # noqa: E402

SEED = 1  # the feature networks were trained with seed 0
# dataset -> epochs, learning rate, batch size, augmentation
SETTINGS = {
    "mnist": (8, 2e-3, 128, partial(random_shifts, max_shift=2)),
    "fashion_mnist": (12, 2e-3, 128, partial(random_shifts, max_shift=2)),
    "usps": (30, 2e-3, 128, partial(random_shifts, max_shift=2)),
    "olivetti": (200, 2e-3, 32, lambda x, rng: random_flips(random_shifts(x, rng, max_shift=4, mode="edge"), rng)),
}
DATASETS = {**DATASETS, "olivetti": {
    "name": "olivetti_faces", "license": "free for research (AT&T Laboratories Cambridge; see shared/data)",
    "url": "https://cam-orl.co.uk/facedatabase.html"}}


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(JUDGES), default="mnist")
    parser.add_argument("--epochs", type=int, default=None, help="default: the dataset's in SETTINGS")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.set_defaults(seed=SEED)
    args = parser.parse_args(argv)
    epochs, rate, batch, _ = SETTINGS[args.dataset]
    args.epochs = args.epochs or epochs
    args.learning_rate = args.learning_rate or rate
    args.batch_size = args.batch_size or batch
    if args.quick:
        args.epochs = 1 if args.dataset != "olivetti" else 3
    return args


def splits(args):
    """`(x_train, y_train, x_test, y_test)`: the training split (its first 2048 with --quick) and the test split."""
    if args.dataset == "olivetti":
        return (*olivetti.load_olivetti("train"), *olivetti.load_olivetti("test"))
    x_train, y_train = load(args.dataset, "train")
    x_test, y_test = load(args.dataset, "test")
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:2048], y_train[:2048], x_test[:512], y_test[:512]
    return x_train, y_train, x_test, y_test


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it; the
    held-out Olivetti people are a test set of generative models, which a judge of identity must know)."""
    return {"images": splits(args)[0]}


def measure(model, args, x_train, x_test):
    """The judge's metrics (zoo.evaluation.classification): accuracy, and for digits its floor and its agreement
    with the feature network; with the protocol that `zoo evaluate` runs again."""
    name = JUDGES[args.dataset]
    spec = {"dataset": args.dataset, "name": name, "images": len(x_test)}
    if args.dataset != "olivetti":
        spec["agreement"] = NAMES[args.dataset]
    measurements = evaluation.classification(model, **spec)
    m = evaluation.values(measurements)
    split = f"test ({len(x_test)} images)"
    if args.dataset == "olivetti":
        metrics = [
            {"key": "accuracy", "name": "Identification accuracy, images 7-9 of the 40 people", "value":
             round(m["accuracy"], 4), "lower_is_better": False, "split": split, "reference": "eigenfaces 1-NN 0.8917, "
             "fisherfaces 0.9583 on the same split (pca_olivetti, lda_olivetti)"},
            {"key": "accuracy_held_out_people", "name": "Identification accuracy, images 7-9 of the 10 people held "
             "out of generative models", "value": round(m["accuracy_held_out_people"], 4), "lower_is_better": False,
             "split": f"{measurements['accuracy_held_out_people'].items} images of zoo.data.olivetti.HELD_OUT_PEOPLE"},
        ]
    else:
        n = min(len(x_test), len(x_train))
        network = NAMES[args.dataset]
        metrics = [
            {"key": "accuracy", "name": "Test accuracy", "value": round(m["accuracy"], 4), "lower_is_better": False,
             "split": split},
            {"key": f"fid_{name}_floor", "name": f"fid_{name} of real test vs real train images (the floor)",
             "value": round(m[f"fid_{name}_floor"], 4), "lower_is_better": True,
             "split": f"{n} test vs {n} training images"},
            {"key": f"agreement_{network}", "name": f"Labels equal to {network}'s (the feature network)",
             "value": round(m[f"agreement_{network}"], 4), "lower_is_better": False, "split": split},
        ]
    return evaluation.with_protocol(metrics, "classification", spec, measurements)


def main(argv=None):
    args = parse_args(argv)
    name = JUDGES[args.dataset]
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once
    x_train, y_train, x_test, y_test = splits(args)
    model = registry.get(name).build()
    steps, history, state = train(model, name, x_train, y_train, (x_test, y_test), args,
                                  augment=SETTINGS[args.dataset][3])

    metrics = measure(model, args, x_train, x_test)
    print(f"{name}: " + ", ".join(f"{m['key']} {m['value']}" for m in metrics))
    results = _common.results_record(name, args, metrics, state, history, dataset=args.dataset, steps=steps,
                                     epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate)
    faces = args.dataset == "olivetti"
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": registry.get(name).description,
        "paper": "He, Zhang, Ren & Sun, Deep Residual Learning for Image Recognition, CVPR 2016 (the architecture)",
        "family": "judge",
        "license": "apache-2.0",
        "dataset": {**DATASETS[args.dataset], "split": "train: images 0-6 of each of the 40 people (280)" if faces
                    else f"train ({len(x_train)} images)"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/judge.py"),
        "steps": steps, "epochs": args.epochs,
        "tags": ["classifier", "judge", "metrics", args.dataset],
        "pipeline_tag": "image-classification",
        "intended_use": "A judge only: scoring what other models make ("
                        + ("whether completed or generated faces keep a person's identity" if faces else
                           f"judge-feature Frechet distance, class accuracy of generated or translated "
                           f"{args.dataset} images") + "). zoo.metrics.judges picks it by dataset.",
        "limitations": "Never use it inside a training loss (zoo.metrics.judges.check_not_judge refuses it): a model "
                       "trained against it would be scored by what it learned to please. "
                       + ("Knows only the 40 Olivetti people, from 7 images each." if faces else
                          f"Only meaningful for 28x28 grey {args.dataset}-like images; distances on its features "
                          "are not comparable with Inception-FID or with the feature network's."),
    })
    _common.write_json(results_path, results)
    print(f"wrote {out} and {results_path}")
    return results


if __name__ == "__main__":
    _common.run(main)
