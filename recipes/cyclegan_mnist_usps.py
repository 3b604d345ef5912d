"""Recipe: CycleGAN between MNIST (A) and USPS (B) digits, trained unpaired, judged by label preservation.

Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017: LSGAN losses, cycle loss (lambda = 10),
identity loss (0.5 lambda), pools of 50 past fakes, Adam(2e-4, beta_1 = 0.5)
constant for half the steps and then linearly decayed to zero. USPS is laid
out like MNIST (`zoo.data.usps`: 16x16 resized to 20x20, padded to 28x28).
Training never sees a label or a pair: each step draws one batch of each
domain independently.

Measured on the held-out test sets (10000 MNIST, 2007 USPS digits):
- label preservation: MNIST test digits translated to USPS are classified by
  `uspsnet` (trained by the zoo on real USPS), USPS test digits translated to
  MNIST by `mnistnet`; the accuracy of each is compared with that of the
  untranslated digits, classified by the same net;
- cycle reconstruction error: mean |F(G(a)) - a| and |G(F(b)) - b|;
- Frechet distances of translated vs real target test digits on the target
  classifier's features (`fid_uspsnet`, `fid_mnistnet`; never compare with
  Inception-FID), next to the same distance for the untranslated digits.
Pictures: rows of inputs, translations and reconstructions, each way.

    ZOO_DATA_DIR=../shared/data python recipes/cyclegan_mnist_usps.py           # -> checkpoints/cyclegan_mnist_usps
    ZOO_DATA_DIR=../shared/data python recipes/cyclegan_mnist_usps.py --quick   # < 1 minute, writes under logs/
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import zoo  # noqa: E402
import zoo.data  # noqa: E402
from zoo.checkpoints import save_checkpoint  # noqa: E402
from zoo.data.usps import load_usps  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.metrics import frechet_distance  # noqa: E402
from zoo.viz import save_rows  # noqa: E402

NAME = "cyclegan_mnist_usps"
DESCRIPTION = "CycleGAN (Zhu et al. 2017) translating 28x28 digits between MNIST and USPS, trained unpaired."
PAPER = ("Zhu, Park, Isola & Efros, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial "
         "Networks, ICCV 2017 (arXiv:1703.10593)")
# Label-preservation references (domain adaptation protocol: CyCADA, Hoffman et al., ICML 2018, Table 1).
REFERENCES = {"a2b": "0.956 (CyCADA, MNIST->USPS)", "b2a": "0.965 (CyCADA, USPS->MNIST)"}


def protocol(args):
    """How the card's numbers are measured (zoo.evaluation.cyclegan_usps; `zoo evaluate` runs it again)."""
    return {"images": 256 if args.quick else None}


def untranslated(mnist, usps, mnistnet, uspsnet):
    """What each feature network reads from the other domain's digits as they are: the references that say what
    translation adds (accuracy on untranslated digits, their Frechet distance to the target's)."""
    (xa, ya), (xb, yb) = mnist, usps
    return {"a2b": {"accuracy": float(np.mean(uspsnet.predict_labels(xa) == ya)),
                    "fid": frechet_distance(uspsnet.features(xa), uspsnet.features(xb))},
            "b2a": {"accuracy": float(np.mean(mnistnet.predict_labels(xb) == yb)),
                    "fid": frechet_distance(mnistnet.features(xb), mnistnet.features(xa))}}


def judge_metrics(measured, n_a, n_b):
    """The card's rows of label preservation read by the judges (zoo.metrics.judges: never trained against), from
    zoo.evaluation.cyclegan_usps' values: usps_judge on MNIST test digits translated to USPS, mnist_judge on USPS
    test digits translated to MNIST, each also as a fraction of the judge's accuracy on real target digits."""
    metrics = []
    for key, name, title, n, n_real in (("a2b", "usps_judge", "MNIST->USPS", n_a, n_b),
                                        ("b2a", "mnist_judge", "USPS->MNIST", n_b, n_a)):
        judged, relative = measured[f"accuracy_{key}_{name}"], measured[f"relative_accuracy_{key}_{name}"]
        split = f"{title}: {n} test digits translated; {n_real} real target test digits"
        metrics += [
            {"key": f"accuracy_{key}_{name}", "name": f"{title} label preservation ({name} accuracy on translations)",
             "value": round(judged, 4), "lower_is_better": False, "split": split,
             "reference": f"{name} on real target test digits: {judged / relative:.4f}"},
            {"key": f"relative_accuracy_{key}_{name}", "name": f"{title} label preservation relative to the judge "
             f"({name} accuracy on translations / on real target digits)", "value": round(relative, 4),
             "lower_is_better": False, "target": ">= 0.98", "split": split},
        ]
    return metrics


def metrics_list(measured, references, n_a, n_b):
    split = {"a2b": f"MNIST test ({n_a} digits) -> USPS", "b2a": f"USPS test ({n_b} digits) -> MNIST"}
    judge = {"a2b": "uspsnet", "b2a": "mnistnet"}
    title = {"a2b": "MNIST->USPS", "b2a": "USPS->MNIST"}
    metrics = []
    for key in ("a2b", "b2a"):
        metrics += [
            {"key": f"accuracy_{key}", "name": f"{title[key]} label preservation ({judge[key]} accuracy on "
             "translations)", "value": round(measured[f"accuracy_{key}"], 4), "lower_is_better": False,
             "target": ">= 0.95", "reference": f"{REFERENCES[key]}; untranslated: {references[key]['accuracy']:.4f}",
             "split": split[key]},
            {"key": f"cycle_l1_{key}", "name": f"{title[key]} cycle reconstruction error (mean |x' - x|)",
             "value": round(measured[f"cycle_l1_{key}"], 4), "lower_is_better": True, "split": split[key]},
            {"key": f"fid_{judge[key]}_{key}", "name": f"{title[key]}: fid_{judge[key]} of translations vs real "
             "target test digits", "value": round(measured[f"fid_{judge[key]}_{key}"], 3), "lower_is_better": True,
             "reference": f"untranslated: {references[key]['fid']:.3f}", "split": split[key]},
        ]
    return metrics


def parse_args(argv=None):
    return _common.cyclegan_args(__doc__.splitlines()[0], steps=5000, argv=argv)


def domains(args):
    """The unpaired training images of domain A (MNIST) and B (USPS); labels are never used for training."""
    x_a, _ = zoo.data.load("mnist", "train[:512]" if args.quick else "train")
    x_b, _ = load_usps("train")
    return x_a, x_b[:512] if args.quick else x_b


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": np.concatenate(domains(args))}


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    _common.check_state(args, NAME)  # before the data: a bad --resume fails at once
    x_a, x_b = domains(args)
    mnist_test, usps_test = zoo.data.load("mnist", "test[:256]" if args.quick else "test"), load_usps("test")
    if args.quick:
        usps_test = (usps_test[0][:256], usps_test[1][:256])
    mnistnet, uspsnet = zoo.load("mnistnet", compile=False), zoo.load("uspsnet", compile=False)

    model, history, state, training = _common.train_cyclegan(args, NAME, x_a, x_b)

    measurements = evaluation.cyclegan_usps(model, **protocol(args))
    measured = evaluation.values(measurements)
    references = untranslated(mnist_test, usps_test, mnistnet, uspsnet)
    for key, title in (("a2b", "MNIST->USPS"), ("b2a", "USPS->MNIST")):
        network = "uspsnet" if key == "a2b" else "mnistnet"
        print(f"{title}: accuracy {measured[f'accuracy_{key}']:.4f} (untranslated {references[key]['accuracy']:.4f}), "
              f"cycle L1 {measured[f'cycle_l1_{key}']:.4f}, Frechet {measured[f'fid_{network}_{key}']:.2f} "
              f"(untranslated {references[key]['fid']:.2f})")
    pictures = []
    for key, x in (("a2b", mnist_test[0][:16]), ("b2a", usps_test[0][:16])):
        rows = [x, model.translate(x, key), model.reconstruct(x, key)]
        pictures.append(save_rows(rows, results_path.with_name(f"{NAME}_{key}.png")).name)

    n_a, n_b = len(mnist_test[0]), len(usps_test[0])
    metrics = evaluation.with_protocol(metrics_list(measured, references, n_a, n_b) + judge_metrics(measured, n_a, n_b),
                                       "cyclegan_usps", protocol(args), measurements)
    results = _common.results_record(
        NAME, args, metrics, state, history, pictures=pictures, **training)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": DESCRIPTION,
        "paper": PAPER,
        "family": "cyclegan",
        "license": "apache-2.0",
        "dataset": {"name": "mnist+usps", "license": "MNIST: CC BY-SA 3.0; USPS: none stated",
                    "url": "http://yann.lecun.com/exdb/mnist/",
                    "split": f"train, unpaired and unlabelled ({len(x_a)} MNIST, {len(x_b)} USPS digits)"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{NAME}.py"),
        "steps": training["steps"], "epochs": training["epochs"],
        "tags": ["cyclegan", "image-to-image", "unpaired", "domain-adaptation", "mnist", "usps"],
        "pipeline_tag": "image-to-image",
        "how_to_load": ('```python\nimport zoo\n\nmodel = zoo.load("cyclegan_mnist_usps")\n'
                        'usps_like = model.translate(mnist_images, direction="a2b")   # (n, 28, 28, 1) in [0, 1]\n'
                        'mnist_like = model.translate(usps_like, direction="b2a")\n```'),
        "intended_use": "Translating 28x28 grey digits between MNIST and USPS styles (domain A = MNIST, "
                        "B = USPS in the zoo's MNIST-like layout); a small, CPU-trained CycleGAN baseline.",
        "limitations": "Only 28x28 grey digits in [0, 1]; USPS inputs must be laid out like zoo.data.usps "
                       "(a 20x20 box in 28x28). Cycle consistency does not force labels to survive: some "
                       "translations change the digit (see the label-preservation accuracy). The Frechet "
                       "distances use the zoo's classifiers, not Inception.",
    })
    _common.write_json(results_path, results)
    print(f"wrote {out}, {results_path} and {', '.join(pictures)}")
    return results


if __name__ == "__main__":
    _common.run(main)
