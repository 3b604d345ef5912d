"""Recipe: eigenfaces vs fisherfaces for identifying the 40 people of the Olivetti faces.

Turk & Pentland, "Eigenfaces for Recognition", J. Cognitive Neuroscience 1991;
Belhumeur, Hespanha & Kriegman, "Eigenfaces vs. Fisherfaces", IEEE TPAMI 1997.
Both are fitted on a fixed split: images 0-6 of each person are the gallery
(280), images 7-9 the queries (120). A query is identified as the person of
its Euclidean nearest gallery image in code space (1-NN). The recipe measures
identification accuracy against the number of components (eigenfaces 1-200,
fisherfaces 1-39), the same on seeded random 7/3 splits per person, 1-NN on
raw pixels as a baseline, and the reconstruction error of eigenfaces.

    python recipes/eigenfaces_olivetti.py           # checkpoints/{pca,lda}_olivetti, results/{pca,lda}_olivetti.json
                                                    # and pictures in results/
    python recipes/eigenfaces_olivetti.py --quick   # one random split, a few points per curve; writes under logs/

Here `--out` is the folder that receives both checkpoint folders and
`--results` the folder for the JSON files and pictures.
"""

import io
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import _common
import keras
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zoo import evaluation
from zoo.checkpoints import save_checkpoint
from zoo.data import olivetti
from zoo.io import write_atomic
from zoo.models.classical import (
    eigenfaces_olivetti,
    fisherfaces_olivetti,
    nearest_neighbour,
)
from zoo.viz import PALETTE, save_image_grid, save_rows

NAME = "eigenfaces_olivetti"
PCA_NAME, LDA_NAME = "pca_olivetti", "lda_olivetti"
EQUAL_DIM = 39  # fisherfaces' dimension (c - 1); eigenfaces are also compared at this size
DATASET = {
    "name": "olivetti_faces",
    "license": "free for research with acknowledgement (AT&T Laboratories Cambridge); no formal license text",
    "url": "https://cs.nyu.edu/~roweis/data.html",
    "split": "train: images 0-6 of each of the 40 people (280 images); test: images 7-9 (120)",
}
SPLIT = "test: images 7-9 of each of the 40 people (120 queries); gallery: images 0-6 (280)"


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0], trains=False)  # closed-form: nothing to resume
    parser.add_argument("--splits", type=int, default=10, help="seeded random 7/3 splits per person to average over")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder laid out like shared/data (default $ZOO_DATA_DIR, else ../shared/data)")
    args = parser.parse_args(argv)
    if args.quick:
        args.splits = 1
    return args


def component_grids(quick, pca_components, lda_components):
    """Numbers of components at which accuracy (eigenfaces, fisherfaces) and reconstruction error are measured."""
    if quick:  # a few points: each new size costs JAX a compilation
        return [1, 10, EQUAL_DIM, pca_components], [1, 10, lda_components], [1, 10, 50, pca_components]
    return (sorted({1, 2, 3, 5, EQUAL_DIM, *range(10, pca_components + 1, 10)}),
            sorted({1, 2, 3, 5, 10, 20, 30, lda_components}),
            sorted({*range(1, 11), *range(10, pca_components + 1, 5)}))


def accuracy(predicted, labels):
    return round(float(np.mean(predicted == labels)), 4)


def random_split(labels, rng):
    """A random 7/3 split inside each person, as boolean train/test masks."""
    train = np.zeros(len(labels), bool)
    for person in np.unique(labels):
        index = np.flatnonzero(labels == person)
        train[rng.permutation(index)[: olivetti.TRAIN_PER_PERSON]] = True
    return train, ~train


def random_split_accuracies(x, y, splits, seed):
    """Eigenfaces (39 and 200 components) and fisherfaces accuracy on `splits` seeded random splits."""
    rows = {"eigenfaces_39": [], "eigenfaces_200": [], "fisherfaces_39": []}
    for i in range(splits):
        train, test = random_split(y, np.random.default_rng(seed + i))
        pca = eigenfaces_olivetti().fit(x[train])
        lda = fisherfaces_olivetti().fit(x[train], y[train])
        rows["eigenfaces_39"].append(accuracy(pca.identify(x[test], x[train], y[train], EQUAL_DIM), y[test]))
        rows["eigenfaces_200"].append(accuracy(pca.identify(x[test], x[train], y[train]), y[test]))
        rows["fisherfaces_39"].append(accuracy(lda.identify(x[test], x[train], y[train]), y[test]))
    return {key: {"mean": round(float(np.mean(v)), 4), "std": round(float(np.std(v)), 4), "values": v}
            for key, v in rows.items()}


def training_data(args):
    """What the recipe fits on: the identification gallery, images 0-6 of every person (tests/test_test_sets.py
    keeps test sets out of it; the held-out people are a test set of generative models only)."""
    return {"images": olivetti.load_olivetti("train")[0]}


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    scratch = _common.logs() / f"{NAME}_quick"
    out_dir = args.out or (scratch if args.quick else _common.ROOT / "checkpoints")
    results_dir = args.results or (scratch if args.quick else _common.ROOT / "results")
    data_dir = args.data_dir or os.environ.get("ZOO_DATA_DIR") or _common.ROOT.parent / "shared" / "data"

    x_all, y_all = olivetti.load_olivetti("all", data_dir=data_dir)
    train, test = olivetti.split_mask(train=True), olivetti.split_mask(train=False)
    x_train, y_train, x_test, y_test = x_all[train], y_all[train], x_all[test], y_all[test]

    total_clock = clock = _common.Stopwatch()
    pca = eigenfaces_olivetti().fit(x_train)
    pca_seconds = clock.seconds
    clock = _common.Stopwatch()
    lda = fisherfaces_olivetti().fit(x_train, y_train)
    lda_seconds = clock.seconds

    # Identification accuracy against the number of components.
    pca_ks, lda_ks, error_ks = component_grids(args.quick, pca.n_components, lda.n_components)
    pca_curve = {k: accuracy(pca.identify(x_test, x_train, y_train, k), y_test) for k in pca_ks}
    lda_curve = {k: accuracy(lda.identify(x_test, x_train, y_train, k), y_test) for k in lda_ks}
    pixels = accuracy(nearest_neighbour(x_test.reshape(len(x_test), -1), x_train.reshape(len(x_train), -1),
                                        y_train), y_test)
    # Reconstruction error (mean squared error per pixel, pixels in [0, 1]).
    errors = {split: [float(np.mean((pca.reconstruct(x, k) - x) ** 2)) for k in error_ks]
              for split, x in (("test", x_test), ("train", x_train))}
    splits = random_split_accuracies(x_all, y_all, args.splits, args.seed)
    total_seconds = total_clock.seconds

    eigen_all, eigen_39, fisher = pca_curve[pca.n_components], pca_curve[EQUAL_DIM], lda_curve[lda.n_components]
    print(f"identification accuracy on the fixed split: eigenfaces {eigen_all} ({pca.n_components} components), "
          f"{eigen_39} ({EQUAL_DIM}); fisherfaces {fisher} ({lda.n_components}); raw pixels {pixels}")
    print(f"{args.splits} random splits: " + ", ".join(f"{k} {v['mean']} +- {v['std']}" for k, v in splits.items()))

    pictures = write_pictures(pca, lda, x_test, results_dir, pca_curve, lda_curve, pixels, error_ks, errors)
    common = {"pixels_1nn_accuracy": pixels, "random_splits": splits, "n_random_splits": args.splits,
              "split": SPLIT, "seconds_total": total_seconds, "pictures": pictures}
    pca_metrics = [
        _metric("identification_accuracy", f"Identification accuracy (1-NN, {pca.n_components} eigenfaces)",
                eigen_all, reference=f"1-NN on raw pixels, same split: {pixels} (this recipe)"),
        _metric(f"identification_accuracy_{EQUAL_DIM}", f"Identification accuracy (1-NN, {EQUAL_DIM} eigenfaces)",
                eigen_39),
        _metric("identification_accuracy_random_splits",
                f"Identification accuracy (1-NN, {pca.n_components} eigenfaces), mean of {args.splits} seeded "
                "random 7/3 splits per person", splits["eigenfaces_200"]["mean"],
                split=f"{args.splits} random 7/3 splits per person, seeds {args.seed}..{args.seed + args.splits - 1}"),
        {"key": "reconstruction_mse", "name": f"Reconstruction MSE per pixel ({pca.n_components} eigenfaces)",
         "value": round(errors["test"][-1], 6), "unit": "squared intensity, pixels in [0, 1]",
         "lower_is_better": True, "split": SPLIT.split(";")[0]},
    ]
    lda_metrics = [
        _metric("identification_accuracy", f"Identification accuracy (1-NN, {lda.n_components} fisherfaces)",
                fisher, target=f"> eigenfaces (pca_olivetti: {eigen_all} with {pca.n_components}, "
                                f"{eigen_39} with {EQUAL_DIM} components)"),
        _metric("identification_accuracy_random_splits",
                f"Identification accuracy (1-NN, {lda.n_components} fisherfaces), mean of {args.splits} seeded "
                "random 7/3 splits per person", splits["fisherfaces_39"]["mean"],
                target=f"> eigenfaces ({splits['eigenfaces_200']['mean']} with {pca.n_components} components)",
                split=f"{args.splits} random 7/3 splits per person, seeds {args.seed}..{args.seed + args.splits - 1}"),
    ]
    # zoo.evaluation.identification measures these rows again (`zoo evaluate pca_olivetti`) from the fitted models
    pca_metrics = evaluation.with_protocol(pca_metrics, "identification", {}, evaluation.identification(pca))
    lda_metrics = evaluation.with_protocol(lda_metrics, "identification", {}, evaluation.identification(lda))
    pca_results = _common.results_record(
        PCA_NAME, args, pca_metrics, pca_seconds, None, n_components=pca.n_components,
        accuracy_vs_components=_curve(pca_curve),
        reconstruction_mse_vs_components={"components": error_ks,
                                          **{s: [round(e, 6) for e in v] for s, v in errors.items()}},
        explained_variance_ratio=[round(float(r), 6) for r in pca.explained_variance_ratio()], **common)
    lda_results = _common.results_record(
        LDA_NAME, args, lda_metrics, lda_seconds, None, n_components=lda.n_components,
        pca_components=len(x_train) - olivetti.N_PEOPLE,
        accuracy_vs_components=_curve(lda_curve), eigenfaces_accuracy_vs_components=_curve(pca_curve),
        fisher_ratio=[round(float(r), 4) for r in keras.ops.convert_to_numpy(lda.fisher_ratio)], **common)

    for model, results, metrics, paper, description in (
        (pca, pca_results, pca_metrics,
         "Turk & Pentland, Eigenfaces for Recognition, Journal of Cognitive Neuroscience 3(1), 1991",
         "Eigenfaces (Turk & Pentland 1991): PCA of the Olivetti faces, 200 components, 1-NN identification."),
        (lda, lda_results, lda_metrics,
         ("Belhumeur, Hespanha & Kriegman, Eigenfaces vs. Fisherfaces: Recognition Using Class Specific Linear "
          "Projection, IEEE TPAMI 19(7), 1997"),
         ("Fisherfaces (Belhumeur et al. 1997): PCA to N - c then LDA to 39 dims on Olivetti faces, "
          "1-NN identification.")),
    ):
        name = results["name"]
        save_checkpoint(model, out_dir / name, overwrite=True, metadata={
            "name": name,
            "description": description,
            "paper": paper,
            "family": "classical",
            "pipeline_tag": "feature-extraction",
            "license": "apache-2.0",
            "dataset": DATASET,
            "metrics": metrics,
            **_common.provenance(results, f"recipes/{NAME}.py"),
            "tags": ["classical", "pca" if model is pca else "lda", "faces", "olivetti", "identification"],
            "intended_use": "Encoding 64x64 grey faces into a few linear features and identifying people by "
                            "1-nearest-neighbour against a labelled gallery (model.identify); a classical "
                            "baseline for learned representations.",
            "limitations": "Fitted on 280 images of 40 people under studio conditions: only meaningful for "
                           "centred, aligned 64x64 grey faces. Linear features are sensitive to lighting, "
                           "pose and alignment; identification needs a gallery of the people to recognise.",
        })
        _common.write_json(results_dir / f"{name}.json", results)
    print(f"wrote {out_dir / PCA_NAME}, {out_dir / LDA_NAME}, their results and pictures in {results_dir}")
    return pca_results, lda_results


def _curve(accuracies):
    return {"components": list(accuracies), "accuracy": list(accuracies.values())}


def _metric(key, name, value, target=None, reference=None, split=SPLIT):
    metric = {"key": key, "name": name, "value": value, "unit": "fraction of queries identified",
              "lower_is_better": False, "split": split}
    if target:
        metric["target"] = target
    if reference:
        metric["reference"] = reference
    return metric


# Pictures ----------------------------------------------------------------------------------


def write_pictures(pca, lda, x_test, results_dir, pca_curve, lda_curve, pixels, error_ks, errors):
    """Writes the recipe's PNG files into `results_dir`; returns their names."""
    paths = [
        save_image_grid(np.concatenate([pca.mean_image()[None], _for_display(pca.component_images()[:15])]),
                        results_dir / f"{PCA_NAME}_eigenfaces.png", nrow=8),
        save_image_grid(np.concatenate([lda.mean_image()[None], _for_display(lda.component_images()[:15])]),
                        results_dir / f"{LDA_NAME}_fisherfaces.png", nrow=8),
        save_rows([x_test[::15]] + [np.clip(pca.reconstruct(x_test[::15], k), 0, 1) for k in (10, 50, 200)],
                  results_dir / f"{PCA_NAME}_reconstructions.png"),
        line_plot_png([("test (120 unseen faces)", error_ks, errors["test"]),
                       ("train (280 fitted faces)", error_ks, errors["train"])],
                      results_dir / f"{PCA_NAME}_reconstruction_error.png",
                      title="Eigenfaces: reconstruction error vs number of components",
                      xlabel="components", ylabel="MSE per pixel"),
        line_plot_png([("eigenfaces (PCA)", list(pca_curve), list(pca_curve.values())),
                       ("fisherfaces (PCA + LDA)", list(lda_curve), list(lda_curve.values())),
                       ("raw pixels (4096-d)", [1, pca.n_components], [pixels, pixels])],
                      results_dir / "olivetti_identification.png",
                      title="Olivetti identification (1-NN): accuracy vs number of components",
                      xlabel="components", ylabel="accuracy", legend="lower right"),
    ]
    return [Path(p).name for p in paths]


def _for_display(components):
    """Each component stretched to [0, 1] on its own, so its pattern is visible."""
    low = components.min(axis=(1, 2, 3), keepdims=True)
    high = components.max(axis=(1, 2, 3), keepdims=True)
    return (components - low) / np.maximum(high - low, 1e-12)


def line_plot_png(series, path, title="", xlabel="", ylabel="", size=(720, 480), legend="upper right"):
    """Draws `series` (a list of `(label, xs, ys)`) as lines with dots on shared axes; writes a PNG."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    left, top, right, bottom = 72, 40, width - 24, height - 52
    xs = np.concatenate([np.asarray(s[1], float) for s in series])
    ys = np.concatenate([np.asarray(s[2], float) for s in series])
    x_ticks, y_ticks = _nice_ticks(xs.min(), xs.max()), _nice_ticks(ys.min(), ys.max())
    x_low, x_high, y_low, y_high = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def to_pixel(x, y):
        return (left + (x - x_low) / (x_high - x_low) * (right - left),
                bottom - (y - y_low) / (y_high - y_low) * (bottom - top))

    for tick in x_ticks:
        px, _ = to_pixel(tick, y_low)
        draw.line((px, top, px, bottom), fill=(230, 230, 230))
        text = f"{tick:g}"
        draw.text((px - draw.textlength(text, font=font) / 2, bottom + 6), text, "black", font)
    for tick in y_ticks:
        _, py = to_pixel(x_low, tick)
        draw.line((left, py, right, py), fill=(230, 230, 230))
        text = f"{tick:.3g}"
        draw.text((left - 6 - draw.textlength(text, font=font), py - 7), text, "black", font)
    draw.rectangle((left, top, right, bottom), outline="black")
    for k, (_, sx, sy) in enumerate(series):
        points = [to_pixel(x, y) for x, y in zip(sx, sy, strict=True)]
        draw.line(points, fill=PALETTE[k], width=2)
        for px, py in points:
            draw.ellipse((px - 2.5, py - 2.5, px + 2.5, py + 2.5), fill=PALETTE[k])
    draw.text(((width - draw.textlength(title, font=font)) / 2, 12), title, "black", font)
    draw.text(((left + right - draw.textlength(xlabel, font=font)) / 2, height - 24), xlabel, "black", font)
    draw.text((8, top - 26), ylabel, "black", font)
    step = 20
    legend_width = max(draw.textlength(label, font=font) for label, _, _ in series) + 40
    legend_top = top + 10 if legend == "upper right" else bottom - 10 - step * len(series)
    for k, (label, _, _) in enumerate(series):
        y = legend_top + k * step
        x = right - legend_width
        draw.line((x, y + 8, x + 22, y + 8), fill=PALETTE[k], width=3)
        draw.text((x + 28, y + 1), label, "black", font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return write_atomic(path, buffer.getvalue())


def _nice_ticks(low, high, n=5):
    """Round tick values (steps of 1, 2 or 5 times a power of ten) that cover [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step) * step, math.ceil(high / step) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


if __name__ == "__main__":
    main()
