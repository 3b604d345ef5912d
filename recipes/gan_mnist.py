"""Recipe: a DCGAN-style GAN on MNIST or Fashion-MNIST with one of seven losses.

Losses: mm, ns (Goodfellow et al. 2014), wgan (Arjovsky et al. 2017), wgan_gp
(Gulrajani et al. 2017), lsgan (Mao et al. 2017), dragan (Kodali et al. 2017),
began (Berthelot et al. 2017); each trains with its paper's optimizer and
n_critic (`zoo.models.gan.PAPER_TRAINING`). The critic uses BatchNorm as in
DCGAN, except with a gradient penalty (wgan_gp, dragan: no normalization) and
for BEGAN (an autoencoder; its generator has no BatchNorm and a linear output,
see `zoo.registry.dcgan_builder`). Evaluation, on 10k samples against the 10k test
images, uses the zoo's own classifier (`mnistnet` / `fashionnet`):
`fid_mnistnet` (Frechet distance of its features; never compare with
Inception-FID), precision/recall (Kynkaanniemi et al. 2019, k=3) and the KL of
the predicted-class histogram to uniform.

    python recipes/gan_mnist.py --loss wgan_gp              # -> checkpoints/gan_wgan_gp_mnist
    python recipes/gan_mnist.py --loss wgan_gp --dataset fashion_mnist   # -> checkpoints/wgan_gp_fashion_mnist
    python recipes/gan_mnist.py --loss ns --quick           # < 1 minute, writes under logs/
    python recipes/gan_mnist.py --name dcgan_mnist --epochs 36   # the zoo's best MNIST GAN (wider, deeper)

`--name` trains another registry entry's networks and loss on the same data
and metrics (`dcgan_mnist`: ns loss, width 64, a three-convolution critic, a
generator that writes its image with a 3x3 convolution at full resolution).

After training, the generator's BatchNorm statistics are set to their averages
over 500 fresh batches (`GAN.set_standing_statistics`, BigGAN's standing
statistics; `--standing-batches 0` keeps the moving averages); the results
record both measurements. `--standing-only` does only that, to a checkpoint
trained before: `python recipes/gan_mnist.py --name dcgan_mnist --standing-only`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402

import _common  # noqa: E402
import zoo  # noqa: E402
import zoo.data  # noqa: E402
from zoo import registry  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.batches import ArrayBatches  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.metrics import judges  # noqa: E402
from zoo.models.gan import LOSSES  # noqa: E402
from zoo.viz import save_image_grid  # noqa: E402

CLASSIFIERS = {"mnist": "mnistnet", "fashion_mnist": "fashionnet"}
PAPERS = {
    "mm": "Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014",
    "ns": "Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014 (non-saturating loss)",
    "wgan": "Arjovsky, Chintala & Bottou, Wasserstein GAN, ICML 2017",
    "wgan_gp": "Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017",
    "lsgan": "Mao et al., Least Squares Generative Adversarial Networks, ICCV 2017",
    "dragan": "Kodali et al., On Convergence and Stability of GANs (DRAGAN), 2017",
    "began": "Berthelot, Schumm & Metz, BEGAN: Boundary Equilibrium GANs, 2017",
    "dcgan_mnist": "Radford, Metz & Chintala, Unsupervised Representation Learning with Deep Convolutional GANs "
                   "(DCGAN), ICLR 2016; Goodfellow et al. 2014 (non-saturating loss)",
}


def checkpoint_name(loss, dataset):
    return f"gan_{loss}_mnist" if dataset == "mnist" else f"{loss}_{dataset}"


def parse_args(argv=None):
    parser = _common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--loss", choices=LOSSES, help="the loss of entry gan_<loss>_mnist (or <loss>_<dataset>)")
    parser.add_argument("--name", help="instead of --loss: a GAN registry entry to train, e.g. dcgan_mnist")
    parser.add_argument("--dataset", choices=sorted(CLASSIFIERS), default="mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=10000, help="generated images for the metrics")
    _common.add_standing_statistics_arguments(parser)
    args = parser.parse_args(argv)
    if (args.loss is None) == (args.name is None):
        parser.error("give exactly one of --loss (entry gan_<loss>_mnist) or --name (a GAN registry entry)")
    if args.name is not None:
        if args.name not in registry.ENTRIES or registry.get(args.name).family != "gan":
            gans = sorted(name for name, entry in registry.ENTRIES.items() if entry.family == "gan")
            parser.error(f"--name must be a GAN registry entry, one of {gans}; got {args.name!r}")
        if "stacked" in args.name:
            parser.error(f"{args.name} generates 3-channel stacked digits: train it with recipes/gan_stacked_mnist.py")
        entry_dataset = "fashion_mnist" if "fashion_mnist" in args.name else "mnist"
        if entry_dataset != args.dataset:
            parser.error(f"{args.name} is trained on {entry_dataset}; got --dataset {args.dataset}")
    if args.quick:
        args.epochs, args.samples = 1, 512
    _common.check_standing_statistics_arguments(parser, args)
    return args


def training_images(args):
    x_train, _ = zoo.data.load(args.dataset, "train")
    return x_train[:2048] if args.quick else x_train


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": training_images(args)}


def protocol(args, n):
    """How the card's numbers are measured (zoo.evaluation.gan_samples; `zoo evaluate` runs it again)."""
    return {"dataset": args.dataset, "samples": n, "seed": args.seed, "classifier": CLASSIFIERS[args.dataset]}


def judge_rows(measured, dataset, split):
    """The card's rows of the dataset's judge (zoo.metrics.judges: never trained against) from the measured
    values of zoo.evaluation.gan_samples: the Frechet distance of its features, the KL of its class histogram."""
    judge = judges.judge_name(dataset)
    return [
        {"key": f"fid_{judge}", "name": f"fid_{judge} (Frechet distance of the judge's features)",
         "value": round(measured[f"fid_{judge}"], 4), "lower_is_better": True,
         "reference": f"real-vs-real floor: see {judge}", "split": split},
        {"key": f"class_kl_{judge}", "name": f"KL(class histogram by {judge} || uniform)",
         "value": round(measured[f"class_kl_{judge}"], 4), "lower_is_better": True, "split": split},
    ]


def main(argv=None):
    args = parse_args(argv)
    name = args.name or checkpoint_name(args.loss, args.dataset)
    out, results_path = _common.outputs(args, name)
    if args.standing_only:
        model, trained = _common.load_trained(out, results_path, name, args,
                                              ("dataset", "epochs", "batch_size", "seed", "quick", "samples"))
    else:
        _common.check_state(args, name)  # before the data: a bad --resume fails at once
    keras.utils.set_random_seed(args.seed)
    x_train = training_images(args)
    classifier_name = CLASSIFIERS[args.dataset]

    if not args.standing_only:
        model = registry.get(name).build()
        model.compile(jit_compile=_common.jit_compile())
        state = _common.training_state(args, name, model, exclude=("samples",))
        history = _common.fit(model, ArrayBatches(x_train, batch_size=args.batch_size, seed=args.seed), args.epochs,
                              args, state)
    args.loss = model.gan_loss
    n = min(args.samples, 512 if args.quick else 10000)  # the test split's 10k images, 512 with --quick
    fid_key = f"fid_{classifier_name}"
    standing = _common.set_standing_statistics(
        model, args, lambda: evaluation.values(evaluation.gan_samples(model, **protocol(args, n))))
    measurements = evaluation.gan_samples(model, **protocol(args, n))
    measured = evaluation.values(measurements)
    picture = save_image_grid(model.sample(64, seed=args.seed), results_path.with_suffix(".png"), nrow=8)
    print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in measured.items()))

    split = f"{n} samples vs as many {args.dataset} test images"
    metrics = [
        {"key": fid_key, "name": f"{fid_key} (Frechet distance of {classifier_name} features)",
         "value": round(measured[fid_key], 4), "lower_is_better": True,
         "reference": f"real-vs-real floor: see {classifier_name}", "split": split},
        {"key": "precision", "name": "Precision (k=3)", "value": round(measured["precision"], 4),
         "lower_is_better": False, "split": split},
        {"key": "recall", "name": "Recall (k=3)", "value": round(measured["recall"], 4),
         "lower_is_better": False, "split": split},
        {"key": "class_kl", "name": "KL(predicted-class histogram || uniform)",
         "value": round(measured["class_kl"], 4), "lower_is_better": True, "split": split},
        *judge_rows(measured, args.dataset, split),
    ]
    metrics = evaluation.with_protocol(metrics, "gan_samples", protocol(args, n), measurements)
    if args.standing_only:  # the training's record, with the new measurements
        results = _common.rewritten_record(trained, metrics, standing_statistics=standing)
    else:
        results = _common.results_record(
            name, args, metrics, state, history, loss=args.loss, dataset=args.dataset,
            picture=picture.name, generator_steps=int(model.optimizer["generator"].iterations.numpy()),
            epochs=args.epochs, batch_size=args.batch_size, n_critic=model.n_critic, samples=n,
            standing_statistics=standing)
    steps = results["generator_steps"]
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": name,
        "description": registry.get(name).description,
        "paper": PAPERS.get(name, PAPERS[args.loss]),
        "family": "gan",
        "license": "apache-2.0",
        "dataset": {"name": args.dataset, "license": "CC BY-SA 3.0" if args.dataset == "mnist" else "MIT",
                    "split": f"train ({len(x_train)} images)"},
        "metrics": metrics,
        **_common.provenance(results, "recipes/gan_mnist.py"),
        "steps": steps, "epochs": args.epochs, "standing_statistics": standing,
        "tags": ["gan", args.loss, "generative", args.dataset],
        "intended_use": f"Sampling 28x28 {args.dataset} images; "
                        + ("comparing GAN losses under one budget." if name == checkpoint_name(args.loss, args.dataset)
                           else "the best-quality GAN of these images in the zoo, trained beyond the comparison's "
                           "budget."),
        "limitations": "Small DCGAN-style networks trained on a CPU budget; samples can be malformed, and "
                       f"{fid_key} is not comparable with Inception-FID.",
        **(_common.trained_metadata(trained) if args.standing_only else {}),
    })
    _common.write_json(results_path, results)
    print(f"wrote {out}, {results_path} and {picture}")
    return results


if __name__ == "__main__":
    _common.run(main)
