"""Recipe: a convolutional VAE on dynamically binarized MNIST.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv:1312.6114).
Evaluation follows Burda et al., "Importance Weighted Autoencoders", ICLR 2016:
the test NLL is the IWAE bound with k importance samples on the full 10k test
set, binarized once by sampling with a fixed seed. References: 86.76 nats (IWAE
paper's VAE, k=5000), 89.9 nats (pythae's VAE benchmark).

    python recipes/vae_mnist.py                  # full run: writes checkpoints/vae_mnist, results/vae_mnist.json
    python recipes/vae_mnist.py --quick          # < 1 minute on tiny settings, writes under logs/
    python recipes/vae_mnist.py --weights W.h5   # evaluate and package trained weights, no training
    python recipes/vae_mnist.py --resume         # continue a stopped run (its training state in logs/vae_mnist/)
"""

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
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.viz import save_image_grid, save_rows  # noqa: E402

NAME = "vae_mnist"
TEST_BINARIZATION_SEED = 123


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--k", type=int, default=1000, help="importance samples for the test NLL")
    parser.add_argument("--weights", type=Path, default=None,
                        help="evaluate these trained weights (.weights.h5) instead of training")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.k = 1, 20
    return args


def load_data(quick):
    x_train, _ = zoo.data.load("mnist", "train")
    x_test, _ = zoo.data.load("mnist", "test")
    if quick:
        x_train, x_test = x_train[:2048], x_test[:256]
    rng = np.random.default_rng(TEST_BINARIZATION_SEED)
    x_test_binary = (rng.uniform(size=x_test.shape) < x_test).astype("float32")
    return x_train, x_test, x_test_binary


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": load_data(args.quick)[0]}


def train(model, x_train, x_test, args):
    """Trains `args.epochs` epochs (resumable); returns the steps, the history and the training state."""
    data = ArrayBatches(x_train, batch_size=args.batch_size, seed=args.seed)
    steps = args.epochs * len(data)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps, alpha=0.1)
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=_common.jit_compile())
    state = _common.training_state(args, NAME, model, exclude=("k",))  # the evaluation's
    history = _common.fit(model, data, args.epochs, args, state, validation_data=(x_test,))
    return steps, history, state


def protocol(args):
    """How the card's numbers are measured (zoo.evaluation.iwae; `zoo evaluate vae_mnist` runs it again)."""
    return {"dataset": "mnist", "split": "test", "binarization_seed": TEST_BINARIZATION_SEED, "k": args.k,
            "seed": args.seed, "images": 256 if args.quick else None}


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    _common.check_state(args, NAME)  # before the data: a bad --resume fails at once

    x_train, x_test, x_test_binary = load_data(args.quick)
    model = registry.get(NAME).build()
    if args.weights:
        model.load_weights(args.weights)
        steps, history, state = None, None, None
    else:
        steps, history, state = train(model, x_train, x_test, args)
    eval_clock = _common.Stopwatch()
    measurements = evaluation.iwae(model, **protocol(args))
    measured = evaluation.values(measurements)
    print(f"test NLL (IWAE, k={args.k}): {measured['nll_iwae']:.2f} nats; "
          f"negative ELBO: {measured['negative_elbo']:.2f} nats")

    split = f"test ({len(x_test_binary)} images, binarized with seed {TEST_BINARIZATION_SEED})"
    metrics = [
        {"key": "nll_iwae", "name": f"Test NLL (IWAE bound, k={args.k})", "value": round(measured["nll_iwae"], 3),
         "unit": "nats", "lower_is_better": True, "target": "<= 87",
         "reference": "86.76 (IWAE paper VAE, k=5000); 89.9 (pythae VAE)", "split": split},
        {"key": "negative_elbo", "name": "Test negative ELBO", "value": round(measured["negative_elbo"], 3),
         "unit": "nats", "lower_is_better": True, "split": split},
    ]
    metrics = evaluation.with_protocol(metrics, "iwae", protocol(args), measurements)
    results = _common.results_record(
        NAME, args, metrics, state, history, k=args.k, eval_seconds=eval_clock.seconds, steps=steps,
        epochs=None if args.weights else args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": registry.get(NAME).description,
        "paper": "Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014 (arXiv:1312.6114)",
        "family": "vae",
        "license": "apache-2.0",
        "dataset": {"name": "mnist", "license": "CC BY-SA 3.0",
                    "url": "http://yann.lecun.com/exdb/mnist/", "split": f"train ({len(x_train)} images)"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{NAME}.py"),
        "steps": steps,
        "epochs": results["epochs"],
        "tags": ["vae", "generative", "mnist", "unsupervised"],
        "intended_use": "Sampling, encoding and reconstructing 28x28 grey digit images; a baseline "
                        "for likelihood and representation experiments; a starting point for fine-tuning.",
        "limitations": "Trained on MNIST digits only; codes of images far from MNIST are meaningless. "
                       "Samples are Bernoulli means, so they look smoother than binary data.",
    })
    _common.write_json(results_path, results)
    save_image_grid(model.sample(64, seed=0), results_path.with_name(f"{NAME}_samples.png"), nrow=8)
    save_rows([x_test[:16], model.reconstruct(x_test[:16])], results_path.with_name(f"{NAME}_reconstructions.png"))
    print(f"wrote {out}, {results_path} and its pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
