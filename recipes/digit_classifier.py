"""Recipe: the zoo's own MNIST / Fashion-MNIST / USPS / face classifiers: mnistnet, fashionnet, uspsnet, facenet.

They supply the features of the Frechet distance and precision/recall used to
judge generated images (`fid_mnistnet`, `fid_fashionnet`: Heusel et al. 2017's
FID with this network in place of Inception, which is not reachable offline;
never compare these numbers with Inception-FID from papers), and the labels
that count the modes of stacked MNIST. The recipe reports test accuracy and the
real-vs-real floor of the distance: 10k test images against 10k training images
(USPS: its 2007 test images against as many training images). `uspsnet` sees
USPS in the zoo's MNIST-like layout (`zoo.data.usps`: 20x20 box in 28x28) and
judges MNIST -> USPS translations (`cyclegan_mnist_usps`).

`facenet` is the feature network of face models' perceptual losses (dfcvae_olivetti): it learns the identity
of the 30 Olivetti people that face models train on (`zoo.data.olivetti`, their images 0-6, with shifts and
mirror flips) and is tested on their images 7-9; the 10 held-out people, the face models' test set, it never
sees. It is no judge: olivetti_judge, another architecture, scores face models.

    python recipes/digit_classifier.py --dataset mnist           # -> checkpoints/mnistnet
    python recipes/digit_classifier.py --dataset fashion_mnist   # -> checkpoints/fashionnet
    python recipes/digit_classifier.py --dataset usps            # -> checkpoints/uspsnet
    python recipes/digit_classifier.py --dataset olivetti        # -> checkpoints/facenet
    python recipes/digit_classifier.py --quick                   # < 1 minute, writes under logs/
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import zoo.data  # noqa: E402
from zoo import registry  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import olivetti  # noqa: E402
from zoo.data.augment import random_flips, random_shifts  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo.data.usps import load_usps  # noqa: E402
from zoo import evaluation  # noqa: E402

FAMILY = "classifier"  # facenet is inside face models' losses: the held-out Olivetti people are its test set too
NAMES = {"mnist": "mnistnet", "fashion_mnist": "fashionnet", "usps": "uspsnet", "olivetti": "facenet"}
# 210 faces: many epochs of small batches, with the judge's augmentation (shifts and mirror flips)
FACES = {"epochs": 150, "batch_size": 32, "quick_epochs": 2,
         "augment": lambda x, rng: random_flips(random_shifts(x, rng, max_shift=4, mode="edge"), rng)}
# USPS has 7291 training digits, MNIST 60000: without more data its net overfits (96% test accuracy,
# 100% train), so it also trains on copies shifted by one pixel, which keep the digits inside the padding.
SHIFTS = {"usps": ((1, 0), (-1, 0), (0, 1), (0, -1))}
DATASETS = {
    "mnist": {"name": "mnist", "license": "CC BY-SA 3.0", "url": "http://yann.lecun.com/exdb/mnist/"},
    "fashion_mnist": {"name": "fashion_mnist", "license": "MIT",
                      "url": "https://github.com/zalandoresearch/fashion-mnist"},
    "usps": {"name": "usps", "license": "none stated (made available by AT&T research; see shared/data/usps)",
             "url": "https://hastie.su.domains/ElemStatLearn/data.html"},
    "olivetti": {"name": "olivetti_faces", "license": "free for research (AT&T Laboratories Cambridge; see "
                 "shared/data)", "url": "https://cam-orl.co.uk/facedatabase.html"},
}


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(NAMES), default="mnist")
    parser.add_argument("--epochs", type=int, default=None, help="default: 6 (faces: 150)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 128 (faces: 32)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args(argv)
    faces = args.dataset == "olivetti"
    args.epochs = args.epochs or (FACES["epochs"] if faces else 6)
    args.batch_size = args.batch_size or (FACES["batch_size"] if faces else 128)
    if args.quick:
        args.epochs = FACES["quick_epochs"] if faces else 1
    return args


def load(dataset, split):
    if dataset == "usps":
        return load_usps(split)
    if dataset == "olivetti":  # the 30 people face models train on; never the held-out ones
        return olivetti.load_olivetti(f"train_people_{split}")
    return zoo.data.load(dataset, split)


def with_shifted_copies(x, y, shifts):
    """`x` and its copies moved by (rows, columns) pixels, with their labels."""
    if not shifts:
        return x, y
    copies = [x] + [np.roll(x, shift, axis=(1, 2)) for shift in shifts]
    return np.concatenate(copies), np.concatenate([y] * len(copies))


def fit_data(args):
    """The labelled images the classifier is fitted on: the training split (its first 2048 with --quick), with
    shifted copies where `SHIFTS` says."""
    x_train, y_train = load(args.dataset, "train")
    if args.quick:
        x_train, y_train = x_train[:2048], y_train[:2048]
    return x_train, y_train, *with_shifted_copies(x_train, y_train, SHIFTS.get(args.dataset, ()))


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": fit_data(args)[2]}


def train(model, name, x, y, test, args, augment=None):
    """Fits the classifier `name` on `(x, y)` with Adam and a cosine decay over `args.epochs` epochs of
    `args.batch_size`, resumably; `test` is the validation data. Returns the steps, the history and the state."""
    data = ArrayBatches(x, y, batch_size=args.batch_size, seed=args.seed, augment=augment)
    steps = args.epochs * len(data)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=_common.jit_compile())
    state = _common.training_state(args, name, model)
    return steps, _common.fit(model, data, args.epochs, args, state, validation_data=test), state


def main(argv=None):
    args = parse_args(argv)
    name = NAMES[args.dataset]
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once
    x_train, y_train, x_fit, y_fit = fit_data(args)
    x_test, y_test = load(args.dataset, "test")
    if args.quick:
        x_test, y_test = x_test[:512], y_test[:512]

    faces = args.dataset == "olivetti"
    model = registry.get(name).build()
    steps, history, state = train(model, name, x_fit, y_fit, (x_test, y_test), args,
                                  augment=FACES["augment"] if faces else None)

    dataset = "olivetti_train_people" if faces else args.dataset
    spec = {"dataset": dataset, "name": name, "images": len(x_test)}  # zoo.evaluation.classification
    measurements = evaluation.classification(model, **spec)
    accuracy = measurements["accuracy"].value
    split = f"test ({len(x_test)} images)"
    metrics = [{"key": "accuracy", "name": "Test accuracy", "value": round(accuracy, 4), "lower_is_better": False,
                "split": split}]
    if faces:
        metrics[0].update(name="Identification accuracy, images 7-9 of the 30 people face models train on",
                          split=f"{len(x_test)} images (zoo.data.olivetti, train_people_test)")
        print(f"{name}: test accuracy {accuracy:.4f}")
    else:  # the floor of the Frechet distance its features define
        floor, n = measurements[f"fid_{name}_floor"].value, min(len(x_test), len(x_train))
        print(f"{name}: test accuracy {accuracy:.4f}; real-vs-real Frechet distance {floor:.3f}")
        metrics.append({"key": f"fid_{name}_floor", "name": f"fid_{name} of real test vs real train images (the floor)",
                        "value": round(float(floor), 4), "lower_is_better": True,
                        "split": f"{n} test vs {n} training images"})
    metrics = evaluation.with_protocol(metrics, "classification", spec, measurements)
    results = _common.results_record(
        name, args, metrics, state, history, dataset=args.dataset, steps=steps,
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": registry.get(name).description,
        "paper": "Johnson, Alahi & Fei-Fei, Perceptual Losses for Real-Time Style Transfer and Super-Resolution, "
                 "ECCV 2016 (the feature loss it serves)" if faces else
                 "Heusel et al., GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash "
                 "Equilibrium, NeurIPS 2017 (the FID, here on this network's features)",
        "family": "classifier",
        "license": "apache-2.0",
        "dataset": {**DATASETS[args.dataset], "split": f"train ({len(x_train)} images"
                    + (f", and {len(x_fit) - len(x_train)} copies shifted by one pixel)" if len(x_fit) > len(x_train)
                       else ")")},
        "metrics": metrics,
        **_common.provenance(results, "recipes/digit_classifier.py"),
        "steps": steps, "epochs": args.epochs,
        "tags": ["classifier", "perceptual-loss" if faces else "metrics", args.dataset],
        "pipeline_tag": "image-classification",
        "intended_use": "Features of 64x64 grey faces for perceptual (feature) losses of face models "
                        "(zoo.losses.PerceptualLoss); not for scoring them, which olivetti_judge does." if faces else
                        f"Features and labels for judging generated {args.dataset} images "
                        f"(fid_{name}, precision/recall, mode counting).",
        "limitations": "Knows 30 people from 7 images each (the Olivetti people not held out of face models; its "
                       "outputs for the other 10 ids are never trained)." if faces else
                       f"Only meaningful for 28x28 grey {args.dataset}-like images"
                       + (" in the zoo's MNIST-like USPS layout (zoo.data.usps: resized to 20x20, padded to 28x28)"
                          if args.dataset == "usps" else "")
                       + "; distances on its features are not comparable with Inception-FID.",
    })
    _common.write_json(results_path, results)
    print(f"wrote {out} and {results_path}")
    return results


if __name__ == "__main__":
    _common.run(main)
