"""Recipe: the autoencoder family on MNIST (or Fashion-MNIST), each measured on what its code is used for.

    --model ae        bottleneck autoencoder (Hinton & Salakhutdinov, Science 2006)
    --model dae       denoising autoencoder, masking noise (Vincent et al., ICML 2008)
    --model ae2d      a 2-number code, drawn as a scatter coloured by label
    --model beta_vae  beta-VAE, beta = 4 (Higgins et al., ICLR 2017): latent traversals, KL per dimension

Every code is measured the same way (`measure_codes`), labels used only for measuring:
- linear probe: logistic regression on frozen codes of the 60k training images, test accuracy on the 10k test images;
- clustering: k-means (k=10, k-means++, 10 restarts) on the codes of all 70k images, accuracy under the best
  cluster-to-label matching and NMI (the DEC protocol, Xie et al. 2016);
- retrieval: precision@10 of the test images' nearest training images in code space;
- few labels: encoder + softmax fine-tuned on 100 and on 1000 balanced labelled training images, against the
  same network from scratch (mean over 3 draws of the labelled set).

    python recipes/autoencoder_mnist.py --model ae          # -> checkpoints/ae_mnist, results/ae_mnist.json
    python recipes/autoencoder_mnist.py --model dae --quick # < 1 minute, writes under logs/
    python recipes/autoencoder_mnist.py --model ae --dataset fashion_mnist   # -> checkpoints/ae_fashion_mnist
    python recipes/autoencoder_mnist.py --model ae --weights checkpoints/ae_mnist/model.weights.h5
        # re-measure trained weights without training; the training record of the results JSON it
        # replaces (time, history, command, commit) is kept under "trained_by"
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import zoo.data  # noqa: E402
from zoo import registry  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo.metrics import (  # noqa: E402
    balanced_subset,
    cluster_accuracy,
    few_label_accuracy,
    kmeans,
    linear_probe,
    nearest_neighbours,
    normalized_mutual_info,
    retrieval_precision,
)
from zoo.viz import save_image_grid, save_rows, scatter_png  # noqa: E402

MODELS = {
    "ae": ("ae_mnist", "Hinton & Salakhutdinov, Reducing the Dimensionality of Data with Neural Networks, "
           "Science 2006"),
    "dae": ("dae_mnist", "Vincent, Larochelle, Bengio & Manzagol, Extracting and Composing Robust Features "
            "with Denoising Autoencoders, ICML 2008"),
    "ae2d": ("ae2d_mnist", "Hinton & Salakhutdinov, Reducing the Dimensionality of Data with Neural Networks, "
             "Science 2006 (2-d code, as in its Fig. 3)"),
    "beta_vae": ("beta_vae_mnist", "Higgins et al., beta-VAE: Learning Basic Visual Concepts with a Constrained "
                 "Variational Framework, ICLR 2017"),
}
FEW_LABELS = (100, 1000)
FEW_LABEL_DRAWS = 3
DATASETS = {
    "mnist": {"name": "mnist", "title": "MNIST", "license": "CC BY-SA 3.0", "url": "http://yann.lecun.com/exdb/mnist/"},
    "fashion_mnist": {"name": "fashion_mnist", "title": "Fashion-MNIST", "license": "MIT",
                      "url": "https://github.com/zalandoresearch/fashion-mnist"},
}
ACTIVE_KL = 0.01  # nats: a latent dimension with less mean KL carries no information


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weights", type=Path, default=None,
                        help="measure and package these trained weights (.weights.h5) instead of training")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 1
    return args


def checkpoint_name(model, dataset):
    return MODELS[model][0].replace("mnist", dataset)


def load_data(quick, dataset="mnist"):
    x_train, y_train = zoo.data.load(dataset, "train")
    x_test, y_test = zoo.data.load(dataset, "test")
    if quick:
        x_train, y_train, x_test, y_test = x_train[:2048], y_train[:2048], x_test[:512], y_test[:512]
    return x_train, y_train.astype("int64"), x_test, y_test.astype("int64")


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": load_data(args.quick, args.dataset)[0]}


def codes_of(model, x):
    """The code a downstream user takes: the autoencoder's code, or the VAE's posterior mean."""
    codes = model.encode(x)
    return codes[0] if isinstance(codes, tuple) else codes


def measure_codes(encoder, codes_train, codes_test, x_train, y_train, x_test, y_test, quick=False, seed=0,
                  unsupervised=True):
    """The four uses of a code; `encoder` (a Keras model, or None for raw pixels) is fine-tuned for few labels.
    `unsupervised=False` leaves out k-means and retrieval (a model's recipe measures them with its protocol,
    zoo.evaluation.reconstruction)."""
    measured = {"linear_probe": linear_probe(codes_train, y_train, codes_test, y_test, steps=200 if quick else 5000)}
    if unsupervised:
        all_codes, all_labels = np.concatenate([codes_train, codes_test]), np.concatenate([y_train, y_test])
        _, clusters, _ = kmeans(all_codes, 10, n_init=2 if quick else 10, seed=seed)
        measured["cluster_accuracy"] = cluster_accuracy(all_labels, clusters)
        measured["cluster_nmi"] = normalized_mutual_info(all_labels, clusters)
        measured["retrieval_p10"] = retrieval_precision(codes_test, y_test, codes_train, y_train, k=10)
    if encoder is not None:
        for n in FEW_LABELS:
            for pretrained in (True, False):
                runs = [few_label_accuracy(encoder, x_train[labelled], y_train[labelled], x_test, y_test,
                                           pretrained=pretrained, steps=20 if quick else 500, seed=draw)
                        for draw in range(1 if quick else FEW_LABEL_DRAWS)
                        for labelled in [balanced_subset(y_train, n, seed=draw)]]
                for stage in runs[0]:
                    key = f"labels_{n}_{'scratch' if not pretrained else 'pretrained' if stage == 'fine_tuned' else 'frozen'}"
                    scores = [run[stage] for run in runs]
                    measured[key], measured[key + "_std"] = float(np.mean(scores)), float(np.std(scores))
    return measured


def code_metrics(measured, split):
    """The card's metric rows for `measure_codes`' output."""
    rows = [
        ("linear_probe", "Linear probe accuracy (logistic regression on frozen codes)", ">= 0.98", "pixels ~0.92"),
        ("cluster_accuracy", "Clustering accuracy (k-means on codes, Hungarian matching, 70k images)", ">= 0.90",
         "pixels ~0.53; DEC 0.843"),
        ("cluster_nmi", "Clustering NMI (k-means on codes, 70k images)", None, None),
        ("retrieval_p10", "Retrieval precision@10 (test queries, training database)", None, None),
    ]
    metrics = [{"key": key, "name": name, "value": round(measured[key], 4), "unit": "fraction",
                "lower_is_better": False, "split": split, **({"target": target} if target else {}),
                **({"reference": reference} if reference else {})} for key, name, target, reference in rows]
    descriptions = {"frozen": "pre-trained encoder frozen, softmax head trained",
                    "pretrained": "pre-trained encoder, head then all layers fine-tuned",
                    "scratch": "same network from scratch"}
    for n in FEW_LABELS:
        for kind, description in descriptions.items():
            key = f"labels_{n}_{kind}"
            if key in measured:
                metrics.append({
                    "key": key, "value": round(measured[key], 4), "unit": "fraction", "lower_is_better": False,
                    "name": f"{n}-label test accuracy, {description} (mean of {FEW_LABEL_DRAWS} draws, "
                            f"std {measured[key + '_std']:.3f})",
                    "split": "test (10k)", **({"target": "+10 points over scratch"} if kind == "pretrained" else {})})
    return metrics




def train(model, x_train, x_test, args, name):
    """Trains `args.epochs` epochs (resumable); returns the steps, the history and the training state."""
    data = ArrayBatches(x_train, batch_size=args.batch_size, seed=args.seed)
    steps = args.epochs * len(data)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps, alpha=0.1)
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=_common.jit_compile())
    state = _common.training_state(args, name, model)
    history = _common.fit(model, data, args.epochs, args, state, validation_data=(x_test,))
    return steps, history, state


def pictures(model, kind, x_train, x_test, y_test, codes_train, codes_test, path_stem):
    """Reconstructions, retrieval, and per model: denoising, the 2-d scatter, traversals and samples."""
    written = [save_rows([x_test[:16], model.reconstruct(x_test[:16])], f"{path_stem}_reconstructions.png")]
    if kind == "dae":
        corrupted = np.asarray(model.corrupt(keras.ops.convert_to_tensor(x_test[:16])))
        written.append(save_rows([x_test[:16], corrupted, model.reconstruct(corrupted)], f"{path_stem}_denoising.png"))
    if kind == "ae2d":
        written.append(scatter_png(codes_test, y_test, f"{path_stem}_codes.png", quantile=0.01,
                                   title="2-d codes of the test set (1%-99% range of each axis)"))
    if kind == "beta_vae":
        written.append(save_image_grid(model.traverse(x_test[:1]), f"{path_stem}_traversals.png", nrow=9))
        written.append(save_image_grid(model.sample(64, seed=0), f"{path_stem}_samples.png", nrow=8))
    # Each row: a test image, then its 8 nearest training images in code space.
    neighbours = nearest_neighbours(codes_test[:8], codes_train, k=8)
    rows = [np.concatenate([x_test[i:i + 1], x_train[neighbours[i]]]) for i in range(8)]
    written.append(save_rows(rows, f"{path_stem}_retrieval.png"))
    return written


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    name, paper = checkpoint_name(args.model, args.dataset), MODELS[args.model][1]
    dataset = DATASETS[args.dataset]
    out, results_path = _common.outputs(args, name)
    _common.check_state(args, name)  # before the data: a bad --resume fails at once

    x_train, y_train, x_test, y_test = load_data(args.quick, args.dataset)
    model = registry.get(name).build()
    trained_by = None
    if args.weights:
        model.load_weights(args.weights)
        model.compile(optimizer="adam")
        previous = json.loads(results_path.read_text()) if results_path.is_file() else {}
        trained_by = {key: previous.get(key) for key in ("command", "git_commit", "train_seconds", "history")}
        steps, history, train_seconds = previous.get("steps"), previous.get("history"), previous.get("train_seconds")
    else:
        steps, history, train_seconds = train(model, x_train, x_test, args, name)  # the state: its seconds
    eval_clock = _common.Stopwatch()
    spec = {"dataset": args.dataset, "seed": args.seed, "active_kl": ACTIVE_KL, "images": len(x_test),
            "train_images": len(x_train)}  # zoo.evaluation.reconstruction: `zoo evaluate` runs it again
    measurements = evaluation.reconstruction(model, **spec)
    test_loss = measurements["test_loss"].value
    codes_train, codes_test = codes_of(model, x_train), codes_of(model, x_test)
    measured = measure_codes(model.encoder, codes_train, codes_test, x_train, y_train, x_test, y_test,
                             quick=args.quick, seed=args.seed, unsupervised=False)
    measured.update({key: measurements[key].value for key in ("cluster_accuracy", "cluster_nmi", "retrieval_p10")})
    print(" ".join(f"{k}={v:.4f}" for k, v in measured.items()))
    split = f"{dataset['title']} train ({len(x_train)}) / test ({len(x_test)})"
    is_vae = args.model == "beta_vae"
    metrics = [{"key": "test_loss", "name": "Test negative beta-ELBO" if is_vae else "Test reconstruction loss "
                "(binary cross-entropy per image)", "value": round(test_loss, 3), "unit": "nats",
                "lower_is_better": True, "split": f"test ({len(x_test)})"}]
    extra = {}
    if is_vae:
        kl = model.kl_per_dimension(x_test)
        extra["kl_per_dimension"] = [round(float(v), 4) for v in kl]
        metrics.append({"key": "active_dimensions", "name": f"Active latent dimensions (mean KL > {ACTIVE_KL} nats)",
                        "value": int(measurements["active_dimensions"].value), "unit": f"of {model.latent_dim}",
                        "lower_is_better": False, "split": f"test ({len(x_test)})"})
        print("KL per dimension (nats):", " ".join(f"{v:.3f}" for v in kl))
    metrics = evaluation.with_protocol(metrics + code_metrics(measured, split), "reconstruction", spec, measurements)

    results = _common.results_record(
        name, args, metrics, train_seconds, history, eval_seconds=eval_clock.seconds, steps=steps,
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        measured={k: round(v, 4) for k, v in measured.items()}, trained_by=trained_by, **extra)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": registry.get(name).description,
        "paper": paper,
        "family": "vae" if is_vae else "autoencoder",
        "license": "apache-2.0",
        "dataset": {"name": dataset["name"], "license": dataset["license"], "url": dataset["url"],
                    "split": f"train ({len(x_train)} images; labels used only to measure the codes)"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/autoencoder_mnist.py"),
        "steps": steps,
        "epochs": args.epochs,
        "tags": ["autoencoder", "representation-learning", args.dataset, "unsupervised"] + (["vae"] if is_vae else []),
        "intended_use": f"Encoding 28x28 grey {dataset['title']} images into a small code for probing, clustering, retrieval "
                        "and few-label fine-tuning; reconstructing them; a starting point for fine-tuning.",
        "limitations": f"Trained on {dataset['title']} only; codes of other images are not meaningful.",
    })
    _common.write_json(results_path, results)
    stem = results_path.with_name(name)
    pictures(model, args.model, x_train, x_test, y_test, codes_train, codes_test, stem)
    print(f"wrote {out}, {results_path} and its pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
