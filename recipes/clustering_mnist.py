"""Recipe: deep clustering of all 70,000 MNIST (or Fashion-MNIST) images with IDEC, DEC or VaDE.

- IDEC: Guo, Gao, Liu & Yin, "Improved Deep Embedded Clustering with Local Structure Preservation", IJCAI 2017
  (MNIST accuracy 0.881); DEC: Xie, Girshick & Farhadi, ICML 2016 (0.843); VaDE: Jiang, Zheng, Tan, Tang & Zhou,
  "Variational Deep Embedding", IJCAI 2017 (0.945). zoo/models/clustering.py has the models.

Two phases, one training state each (resumable inside either; --resume continues where the run stopped):

1. pretrain the papers' stacked autoencoder d-500-500-2000-10 end to end, as IDEC's code does: Adam(1e-3),
   batches of 256, 200 epochs; the mean squared error of a linear output for IDEC and DEC, the Bernoulli
   cross-entropy of logits for VaDE (whose decoder is a Bernoulli).
2. cluster, with the settings of each paper's code:
   - IDEC (gamma 0.1) and DEC: k-means with 20 restarts on the codes, then the KL to the target distribution,
     refreshed every 140 steps, batches of 256, until fewer than 0.1% of the labels change between refreshes
     (at most 20,000 steps); Adam(1e-3) for IDEC, SGD(0.01, momentum 0.9) for DEC.
   - VaDE: the Gaussian-mixture prior from EM (diagonal) on the codes, then the ELBO with Adam(2e-3, epsilon
     1e-4) decayed by 0.9 every 10 epochs down to 2e-4, batches of 100, 500 epochs (the authors' VaDE.py).

No label is seen by the training or by any choice of setting: the settings are the papers' as published, and
every method's result is reported. Measured (zoo.evaluation's `clustering` protocol, which `zoo evaluate` runs
again): accuracy (clusters matched one to one to the labels) and NMI over the 70,000 images, beside k-means and
a diagonal Gaussian mixture on the pretrained codes. Pictures: the ten images of each cluster it is surest of,
and the final codes in two dimensions (their first two principal components) coloured by cluster.

    python recipes/clustering_mnist.py --method idec                 # -> checkpoints/idec_mnist
    python recipes/clustering_mnist.py --method vade --dataset fashion_mnist
    python recipes/clustering_mnist.py --quick                       # a minute, tiny settings, under logs/
    python recipes/clustering_mnist.py --method idec --resume        # continue a stopped run
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo.data  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo.metrics import cluster_accuracy, kmeans, normalized_mutual_info  # noqa: E402
from zoo.models.clustering import DEC, PAPER_DIMS, GaussianMixture, StackedAutoencoder, VaDE  # noqa: E402
from zoo.resume import epoch_cut_short  # noqa: E402
from zoo.viz import save_image_grid, scatter_png  # noqa: E402

METHODS = ("idec", "dec", "vade")
DATASETS = {"mnist": {"title": "MNIST", "license": "CC BY-SA 3.0", "url": "http://yann.lecun.com/exdb/mnist/",
                      "references": {"dec": 0.843, "idec": 0.881, "vade": 0.945}, "aim": 0.90},
            "fashion_mnist": {"title": "Fashion-MNIST", "license": "MIT",
                              "url": "https://github.com/zalandoresearch/fashion-mnist", "references": {},
                              "aim": 0.60}}
PAPERS = {"idec": "Guo, Gao, Liu & Yin, Improved Deep Embedded Clustering with Local Structure Preservation, "
                  "IJCAI 2017",
          "dec": "Xie, Girshick & Farhadi, Unsupervised Deep Embedding for Clustering Analysis, ICML 2016 "
                 "(arXiv:1511.06335)",
          "vade": "Jiang, Zheng, Tan, Tang & Zhou, Variational Deep Embedding: An Unsupervised and Generative "
                  "Approach to Clustering, IJCAI 2017 (arXiv:1611.05148)"}
CLUSTERS = 10
FAMILY = "clustering"  # tests/test_test_sets.py: trained and measured on every image, labels unseen
SHOWN = 10  # images a cluster in the exemplar grid
SCATTERED = 10000  # points in the code picture


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--method", choices=METHODS, default="idec")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    parser.add_argument("--dims", type=int, nargs="+", default=list(PAPER_DIMS),
                        help="the encoder's layer widths, the last the code's (the papers': 500 500 2000 10)")
    parser.add_argument("--pretrain-epochs", type=int, default=200, help="(IDEC's code: 200)")
    parser.add_argument("--gamma", type=float, default=0.1, help="IDEC's weight on the clustering term")
    parser.add_argument("--update-interval", type=int, default=140, help="DEC/IDEC: steps between target refreshes")
    parser.add_argument("--tol", type=float, default=0.001,
                        help="DEC/IDEC stop when fewer than this share of the labels change between refreshes")
    parser.add_argument("--cluster-steps", type=int, default=20000, help="DEC/IDEC: the most steps")
    parser.add_argument("--epochs", type=int, default=500, help="VaDE's epochs (the authors' code: 500)")
    args = parser.parse_args(argv)
    if min(args.dims) < 1 or args.pretrain_epochs < 1 or args.epochs < 1 or args.cluster_steps < 1:
        parser.error("--dims, --pretrain-epochs, --epochs and --cluster-steps must be >= 1")
    if args.quick:
        args.dims, args.pretrain_epochs, args.epochs = [64, 10], 2, 2
        args.update_interval, args.cluster_steps = 4, 12
    return args


def name_of(args):
    return f"{args.method}_{args.dataset}"


def load_data(args):
    """Every image of the training and test splits, and their labels (for the measurements only)."""
    (x_train, y_train), (x_test, y_test) = zoo.data.load(args.dataset, "train"), zoo.data.load(args.dataset, "test")
    if args.quick:
        (x_train, y_train), (x_test, y_test) = (x_train[:1000], y_train[:1000]), (x_test[:1000], y_test[:1000])
    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])


def training_data(args):
    """What the recipe trains on: the test images too, as the papers cluster and measure all 70,000 without a
    label (zoo.data.test_sets: the digit test splits are not test sets of the "clustering" family)."""
    return {"images": load_data(args)[0]}


def states(args):
    """The two phases' state paths."""
    path = _common.state_path(args, name_of(args))
    return path.with_name("pretrain_state.npz"), path


def pretrain(args, x, resume):
    """Phase 1: the stacked autoencoder, resumable; returns it and its state."""
    keras.utils.set_random_seed(args.seed)
    ae = StackedAutoencoder(x.shape[1:], args.dims, decoder_output="logits" if args.method == "vade" else "linear")
    ae.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=_common.jit_compile())
    path = states(args)[0]
    state = _common.training_state(args, name_of(args), ae, path=path, resume=resume)
    data = ArrayBatches(x, batch_size=256, seed=args.seed)
    history = _common.fit(ae, data, args.pretrain_epochs, args, state)
    print(f"pretrained {args.pretrain_epochs} epochs in {state.seconds:.0f} s, loss {history['loss'][-1]:.4f}",
          flush=True)
    return ae, state


def cluster_idec(args, ae, x, labels, resume):
    """Phase 2 for IDEC / DEC: k-means on the codes, then `fit_clusters`, resumable."""
    kwargs = {"decoder_output": "linear"} if args.method == "idec" else {}
    model = DEC.from_autoencoder(ae, n_clusters=CLUSTERS, method=args.method, gamma=args.gamma, **kwargs)
    optimizer = keras.optimizers.Adam(1e-3) if args.method == "idec" else keras.optimizers.SGD(0.01, momentum=0.9)
    model.compile(optimizer=optimizer, jit_compile=_common.jit_compile())
    path = states(args)[1]
    state = _common.training_state(args, name_of(args), model, path=path, resume=resume)
    curve = state.record.setdefault("curve", [])

    def log(interval, targets):  # the labels only describe the run; nothing here steers it
        point = {"step": interval * args.update_interval, "changed": targets.changed,
                 "accuracy": round(cluster_accuracy(labels, targets.labels), 4)}
        curve.append(point)
        print(f"step {point['step']}: {point['changed'] if point['changed'] is None else round(point['changed'], 4)}"
              f" of the labels changed; accuracy {point['accuracy']:.4f}", flush=True)

    seconds, steps = _common.limits_left(args, state)
    result = model.fit_clusters(
        x, max_steps=args.cluster_steps, update_interval=args.update_interval, batch_size=256, tol=args.tol,
        n_init=2 if args.quick else 20, seed=args.seed, state=state, callback=log,
        max_seconds=seconds, stop_after_steps=steps,
        save_every=60 * args.save_minutes, verbose=_common.verbosity(args.verbose))
    state.position = {"epoch": 0, "batch": 0, "finished": True}  # a new run replaces it without --restart
    state.save(model)
    print(f"{result['steps']} steps, converged: {result['converged']}", flush=True)
    return model, state, {"steps": result["steps"], "converged": result["converged"], "curve": curve}


def cluster_vade(args, ae, x, labels, resume):
    """Phase 2 for VaDE: the prior by EM on the codes, then the ELBO, resumable."""
    keras.utils.set_random_seed(args.seed)
    model = VaDE.from_autoencoder(ae, n_clusters=CLUSTERS, seed=args.seed)
    data = ArrayBatches(x, batch_size=100, seed=args.seed)
    # 2e-3, times 0.9 every 10 epochs, never below 2e-4 (the authors' lr_decay)
    values = [max(2e-3 * 0.9 ** k, 2e-4) for k in range(math.ceil(args.epochs / 10))]
    rate = keras.optimizers.schedules.PiecewiseConstantDecay([10 * k * data.steps for k in range(1, len(values))],
                                                             values) if len(values) > 1 else values[0]
    model.compile(optimizer=keras.optimizers.Adam(rate, epsilon=1e-4), jit_compile=_common.jit_compile())
    path = states(args)[1]
    if not resume:
        model.init_prior(x, seed=args.seed)
        initial = cluster_accuracy(labels, model.predict_clusters(x))
        print(f"the prior from EM on the codes: accuracy {initial:.4f}", flush=True)
    state = _common.training_state(args, name_of(args), model, path=path, resume=resume)
    if not resume:
        state.record["initial_accuracy"] = round(initial, 4)
    history = _common.fit(model, data, args.epochs, args, state, callbacks=[EveryTenEpochs(state.record, x, labels)])
    print(f"{args.epochs} epochs in {state.seconds:.0f} s, loss {history['loss'][-1]:.2f}", flush=True)
    return model, state, {"epochs": args.epochs, "initial_accuracy": state.record.get("initial_accuracy"),
                          "curve": state.record.get("curve", []),
                          "cluster_history": {k: [round(float(v), 4) for v in vs] for k, vs in history.items()}}


class EveryTenEpochs(keras.callbacks.Callback):
    """Every tenth epoch, VaDE's accuracy over all the images, kept in the training state's record: it only
    describes the run (as the authors' code prints it), nothing steers the training by it."""

    def __init__(self, record, x, labels):
        super().__init__()
        self.record, self.x, self.labels = record, x, labels
        self.record.setdefault("curve", [])

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % 10 or epoch_cut_short(self.model):
            return
        accuracy = round(cluster_accuracy(self.labels, self.model.predict_clusters(self.x)), 4)
        self.record["curve"].append({"epoch": epoch + 1, "accuracy": accuracy})
        print(f"epoch {epoch + 1}: accuracy {accuracy:.4f}", flush=True)


def baselines(ae, x, labels, args):
    """k-means (as DEC/IDEC start) and a diagonal Gaussian mixture (as VaDE starts) on the pretrained codes."""
    codes = ae.encode(x)
    _, kmeans_labels, _ = kmeans(codes, CLUSTERS, n_init=2 if args.quick else 20, seed=args.seed)
    gmm = GaussianMixture(CLUSTERS, covariance_type="diag", seed=args.seed).fit(codes)
    out = {}
    for key, found in (("kmeans_codes", kmeans_labels), ("gmm_codes", gmm.predict(codes))):
        out[f"{key}_accuracy"] = round(cluster_accuracy(labels, found), 4)
        out[f"{key}_nmi"] = round(normalized_mutual_info(labels, found), 4)
    print("on the pretrained codes: " + ", ".join(f"{k} {v:.4f}" for k, v in out.items()), flush=True)
    return out


def assignments(model, x):
    """Each image's probability of each cluster: DEC's q, VaDE's gamma."""
    return model.soft_assignments(x)


def save_pictures(model, x, results_path):
    """The SHOWN images of each cluster it is surest of (a row a cluster), and the codes' first two principal
    components coloured by cluster."""
    q = assignments(model, x)
    clusters = np.argmax(q, axis=1)
    rows = []
    for c in range(CLUSTERS):
        members = np.flatnonzero(clusters == c)
        best = members[np.argsort(-q[members, c])][:SHOWN]
        rows.append(np.concatenate([x[best], np.ones((SHOWN - len(best), *x.shape[1:]), "float32")]))
    grid = save_image_grid(np.concatenate(rows), results_path.with_name(f"{results_path.stem}_clusters.png"),
                           nrow=SHOWN)
    codes = model.encode(x)
    codes = codes[0] if isinstance(codes, tuple) else codes
    shown = np.random.default_rng(0).permutation(len(x))[:SCATTERED]
    centred = codes[shown] - codes[shown].mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    scatter = scatter_png(centred @ axes[:2].T, clusters[shown],
                          results_path.with_name(f"{results_path.stem}_codes.png"),
                          title="codes (first two principal components), coloured by cluster", quantile=0.005)
    return grid, scatter


def main(argv=None):
    args = parse_args(argv)
    name = name_of(args)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, name)
    resume = _common.check_states(args, name, states(args))  # before the data: a bad --resume fails at once

    x, labels = load_data(args)
    print(f"{len(x)} {DATASETS[args.dataset]['title']} images; {args.method}", flush=True)
    ae, pretrain_state = pretrain(args, x, resume[0])
    measured_codes = baselines(ae, x, labels, args)
    cluster = cluster_vade if args.method == "vade" else cluster_idec
    model, state, run = cluster(args, ae, x, labels, resume[1])

    eval_clock = _common.Stopwatch()
    protocol = {"dataset": args.dataset, "images": 1000 if args.quick else None}
    measurements = evaluation.clustering(model, **protocol)
    measured = evaluation.values(measurements)
    eval_seconds = eval_clock.seconds
    settings = DATASETS[args.dataset]
    reference = settings["references"].get(args.method)
    split = f"{settings['title']} train + test ({len(x)} images); labels used for the measurement only"
    print(f"clustering accuracy {measured['cluster_accuracy']:.4f}, NMI {measured['cluster_nmi']:.4f}", flush=True)
    metrics = [
        {"key": "cluster_accuracy", "name": "Clustering accuracy (Hungarian matching)",
         "value": round(measured["cluster_accuracy"], 4), "unit": "", "lower_is_better": False,
         "target": f">= {settings['aim']:.2f}", "split": split,
         **({"reference": f"{reference} ({args.method.upper()} paper)"} if reference else {})},
        {"key": "cluster_nmi", "name": "Normalized mutual information", "value": round(measured["cluster_nmi"], 4),
         "unit": "", "lower_is_better": False, "split": split},
    ]
    metrics = evaluation.with_protocol(metrics, "clustering", protocol, measurements)
    results = _common.results_record(
        name, args, metrics, round(pretrain_state.seconds + state.seconds, 1), None, eval_seconds=eval_seconds,
        training_runs={"pretrain": pretrain_state.record["runs"], "cluster": state.record["runs"]},
        pretrain_seconds=round(pretrain_state.seconds, 1), cluster_seconds=round(state.seconds, 1),
        pretrained_codes=measured_codes, images=len(x), paper=PAPERS[args.method], **run)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": f"{args.method.upper()} clustering of {settings['title']} into {CLUSTERS} clusters, on a "
                       f"{'-'.join(map(str, args.dims))} autoencoder pretrained here.",
        "paper": PAPERS[args.method],
        "family": FAMILY,
        "license": "apache-2.0",
        "dataset": {"name": args.dataset, "license": settings["license"], "url": settings["url"], "split": split},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{Path(__file__).name}"),
        "tags": ["clustering", args.method, args.dataset, "unsupervised"],
        "how_to_load": ("```python\nimport zoo\n\n"
                        f"model = zoo.load(\"{name}\")\n"
                        "clusters = model.predict_clusters(images)  # float32 (n, 28, 28, 1) in [0, 1]\n"
                        "q = model.soft_assignments(images)        # each image's probability of each cluster\n```"),
        "intended_use": f"Grouping {settings['title']}-like 28x28 grey images without labels; a baseline for "
                        "deep clustering experiments; a starting point for clustering similar data.",
        "limitations": "Cluster numbers are arbitrary: match them to classes with labels (the card's accuracy "
                       "does so by Hungarian matching). Images unlike the training data get confident but "
                       "meaningless clusters.",
    })
    _common.write_json(results_path, results)
    save_pictures(model, x, results_path)
    print(f"wrote {out}, {results_path} and its pictures")
    return results


if __name__ == "__main__":
    _common.run(main)
