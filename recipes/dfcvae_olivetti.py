"""Recipe: the Deep Feature Consistent VAE on 64x64 faces (Olivetti) against a plain VAE of the same networks.

Hou, Shen, Sun & Qiu, "Deep Feature Consistent Variational Autoencoder", WACV
2017 (arXiv:1610.00291), on faces as in the paper (CelebA there; the 400
Olivetti faces here, the only faces offline). The paper's networks at 64x64:
four stride-2 convolutions of 32-64-128-256 filters each way and a 100-d code.
Its feature network, VGG19 trained on ImageNet, is not reachable offline; the
zoo's `facenet` (recipes/digit_classifier.py --dataset olivetti: the identity
of the 30 people face models train on) stands in, compared at its first three
convolutions as the paper's relu1_1, relu2_1, relu3_1.

Both models train on the 300 faces of the 30 training people
(`zoo.data.olivetti`, "train_people"), mirror-flipped at random, from the same
initial weights on the same batches (recipes/dfcvae.py's pieces). The 10
held-out people, whom neither the models nor facenet ever see, are the test
(`zoo.evaluation.face_reconstruction`):

- PSNR and SSIM of the reconstructions (decoded posterior means) of their 100 faces;
- identity: the share of their images 7-9 whose reconstruction olivetti_judge (another network, which knows
  them from their images 0-6 and is in no loss) names rightly, against the share of the faces themselves;
- pictures beside the results JSON: reconstructions (rows: faces, VAE, DFC-VAE), samples of each model and
  latent interpolations between held-out faces.

Measured (TensorFlow, 2-core CPU, 3000 steps of each model, KL warm-up 1000 steps, feature weight 3000; the
same plain VAE in both rows: PSNR 19.61 dB, SSIM 0.468, identity 0.133):

    DFC-VAE                   PSNR dB  SSIM   identity (30 images)
    features only (pixel 0)    18.22   0.321  0.100   a regular dot pattern over every face and sample
                                                      (results/dfcvae_olivetti_features_only*): facenet does
                                                      not see it, so nothing removed it
    features + 0.5 x pixels    19.96   0.507  0.100   the default: no pattern, sharper eyes and mouths

Identity is near chance for both models (olivetti_judge names 1.0 of the faces themselves): 300 faces of 30
people teach no model to keep the identity of a stranger.

    python recipes/dfcvae_olivetti.py              # -> checkpoints/dfcvae_olivetti, results/dfcvae_olivetti.json
    python recipes/dfcvae_olivetti.py --quick      # tiny settings, writes under logs/
    python recipes/dfcvae_olivetti.py --max-minutes 30   # stop (exit 75), state kept; --resume continues
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import dfcvae  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data import olivetti  # noqa: E402
from zoo.data.augment import random_flips  # noqa: E402
from zoo.metrics import judges  # noqa: E402
from zoo.viz import save_image_grid, save_rows  # noqa: E402

FAMILY = "vae"
NAME = "dfcvae_olivetti"
NETWORKS = {"image_shape": olivetti.IMAGE_SHAPE, "latent_dim": 100, "filters": (32, 64, 128, 256), "hidden": 256}
FEATURE_NETWORK, FEATURE_LAYERS = "facenet", ("conv_0", "conv_1", "conv_2")
QUICK = {"epochs": 1, "train_images": 64, "batch_size": 16}  # 4 steps of each model
KEYS = {"psnr_held_out_people": ("PSNR of the reconstructions", "dB"),  # each higher is better
        "ssim_held_out_people": ("SSIM of the reconstructions", None),
        "identity_olivetti_judge": ("reconstructions of images 7-9 named as the right person by olivetti_judge",
                                    "fraction")}


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300, help="epochs of each model (300 faces an epoch)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--feature-weight", type=float, default=3000.0,
                        help="weight of the feature term (mean squared feature differences, summed over the layers) "
                             "against the KL in nats; recipes/dfcvae.py's choice on Fashion-MNIST")
    parser.add_argument("--pixel-weight", type=float, default=0.5,
                        help="weight of the VAE's per-pixel Bernoulli term (0: the paper's DFC-VAE, which left "
                             "a dot pattern here; see the docstring)")
    parser.add_argument("--kl-warmup", type=int, default=1000,
                        help="steps of KL warm-up of both models (without it the plain VAE's KL fell to 0 within "
                             "an epoch and stayed there: it decoded the mean face)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.batch_size = QUICK["epochs"], QUICK["batch_size"]
    return args


def load_data(args):
    """The 300 faces of the training people (the first 64 with --quick)."""
    x_train, _ = olivetti.load_olivetti("train_people")
    return x_train[:QUICK["train_images"]] if args.quick else x_train


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": load_data(args)}


def pictures(models, stem, seed):
    """Reconstructions of 16 held-out faces (rows: faces, VAE, DFC-VAE), 64 samples of each model, and latent
    interpolations between held-out faces of different people (per pair a VAE row and a DFC-VAE row)."""
    faces, _ = olivetti.load_olivetti("held_out_people")
    shown = np.concatenate([faces[::10][:8], faces[5::10][:8]])  # two faces of each of 8 people
    written = [save_rows([shown] + [np.clip(m.reconstruct(shown), 0, 1) for m in models.values()],
                         f"{stem}_reconstructions.png")]
    for key, model in models.items():
        written.append(save_image_grid(np.clip(model.sample(64, seed=seed), 0, 1), f"{stem}_{key}_samples.png",
                                       nrow=8))
    weights = np.linspace(0.0, 1.0, dfcvae.INTERPOLATION_STEPS, dtype="float32")[:, None]
    ends = [(0, 10), (20, 30), (40, 50), (60, 70)]  # first faces of people 1-2, 3-4, ...
    rows = []
    for i, j in ends:
        for model in models.values():
            codes, _ = model.encode(faces[[i, j]])
            path = np.clip(model.decode((1.0 - weights) * codes[0] + weights * codes[1]), 0, 1)
            rows.append(np.concatenate([faces[i:i + 1], path, faces[j:j + 1]]))
    written.append(save_rows(rows, f"{stem}_interpolations.png"))
    return [Path(path).name for path in written]


def metric_rows(measured, real_identity):
    """The card's metrics: the DFC-VAE's (re-measured by `zoo evaluate`), the plain VAE's beside them."""
    split = "the 10 Olivetti people held out of face models (100 faces; identity: their 30 images 7-9)"
    rows = []
    for key, title in (("dfcvae", "DFC-VAE"), ("vae", "Plain VAE (same networks, initial weights and steps)")):
        suffix = "" if key == "dfcvae" else "_vae"
        for metric, (name, unit) in KEYS.items():
            row = {"key": metric + suffix, "name": f"{title}: {name}", "value": round(measured[key][metric].value, 4),
                   "lower_is_better": False, "split": split, **({"unit": unit} if unit else {})}
            if metric == "identity_olivetti_judge":
                row["reference"] = f"olivetti_judge names the faces themselves rightly {real_identity:.4f} of the time"
            if suffix:
                row["not_evaluated"] = ("the plain VAE is not in this checkpoint: the recipe trains and measures it "
                                        "beside it")
            rows.append(row)
    return evaluation.with_protocol(rows, "face_reconstruction", {}, measured["dfcvae"])


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    paths = dfcvae.check_states(args, NAME)  # before the data: a bad --resume fails at once
    x_train = load_data(args)
    models = dfcvae.build(args, {**NETWORKS, "kl_warmup": args.kl_warmup}, FEATURE_NETWORK, FEATURE_LAYERS)
    states, histories, steps = {}, {}, {}
    for key, _ in dfcvae.MODELS:
        states[key], histories[key], steps[key] = dfcvae.train(models[key], key, NAME, paths[key], x_train, None,
                                                               args, augment=random_flips)

    eval_clock = _common.Stopwatch()
    measured = {key: evaluation.face_reconstruction(model) for key, model in models.items()}
    queries, people = olivetti.load_olivetti("held_out_people_test")
    real_identity = float(np.mean(judges.judge("olivetti").predict_labels(queries) == people))
    for key, title in dfcvae.MODELS:
        print(f"{title}: " + ", ".join(f"{k} {m.value:.4f}" for k, m in measured[key].items())
              + f" ({states[key].seconds:.0f} s of training)", flush=True)
    print(f"olivetti_judge on the faces themselves: {real_identity:.4f}")
    metrics = metric_rows(measured, real_identity)
    stem = results_path.with_name(NAME)
    results = _common.results_record(
        NAME, args, metrics, states["dfcvae"],
        {f"{key}_{m}": v for key, h in histories.items() for m, v in h.items()},
        steps=steps["dfcvae"], vae_steps=steps["vae"], epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, feature_weight=args.feature_weight, pixel_weight=args.pixel_weight,
        kl_warmup=args.kl_warmup,
        feature_network=FEATURE_NETWORK, feature_layers=list(FEATURE_LAYERS), train_images=len(x_train),
        vae_train_seconds=round(states["vae"].seconds, 1), vae_training_runs=states["vae"].record["runs"],
        judge="olivetti_judge", judge_on_real_faces=round(real_identity, 4),
        vae={k: round(m.value, 4) for k, m in measured["vae"].items()},
        standard_errors={key: {k: round(m.standard_error, 4) for k, m in measured[key].items()}
                         for key in models})
    save_checkpoint(models["dfcvae"], out, overwrite=True, metadata={
        "name": NAME,
        "description": "DFC-VAE (Hou et al. 2017) on 64x64 Olivetti faces: a 100-d convolutional VAE trained "
                       "with a feature-consistent loss on facenet's frozen features.",
        "paper": "Hou, Shen, Sun & Qiu, Deep Feature Consistent Variational Autoencoder, WACV 2017 "
                 "(arXiv:1610.00291)",
        "family": FAMILY,
        "license": "apache-2.0",
        "dataset": {"name": "olivetti_faces", "license": "free for research (AT&T Laboratories Cambridge; see "
                    "shared/data)", "url": "https://cam-orl.co.uk/facedatabase.html",
                    "split": f"train_people ({len(x_train)} faces of 30 people, mirror-flipped at random)"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/dfcvae_olivetti.py"),
        "steps": steps["dfcvae"],
        "epochs": args.epochs,
        "feature_network": FEATURE_NETWORK,
        "feature_layers": list(FEATURE_LAYERS),
        "feature_weight": args.feature_weight,
        "tags": ["vae", "dfc-vae", "perceptual-loss", "generative", "faces", "olivetti", "unsupervised"],
        "intended_use": "Encoding, reconstructing, sampling and interpolating 64x64 grey faces; a starting point "
                        "for fine-tuning on other faces.",
        "limitations": "Trained on 300 faces of 30 people: samples and reconstructions of other faces are rough. "
                       "Its loss used facenet (in place of the paper's VGG19, unreachable offline); its numbers "
                       "are PSNR/SSIM and olivetti_judge's, which it never saw. Samples are decoder means.",
    })
    results["pictures"] = pictures(models, stem, args.seed)
    results["eval_seconds"] = eval_clock.seconds
    _common.write_json(results_path, results)
    print(f"wrote {out} and {results_path}")
    return results


if __name__ == "__main__":
    _common.run(main)
