"""Recipe: CycleGAN between MNIST (A) and outlined MNIST (B), trained unpaired, scored against the true outlines.

Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017; the training, losses and 28x28 networks are
those of `recipes/cyclegan_mnist_usps.py` (shared in `recipes/_common.py`).

The second pair of issue 7, and why this one. Domain B is `zoo.data.styled.outline`:
the 3x3 morphological gradient of the digit (dilation minus erosion) drawn
dark on white. The change of style is plain to see (white strokes on black
become dark outlines on white, wide strokes hollow), the images stay 28x28
grey in [0, 1] so the networks are reused unchanged, and the style is local,
so a convolutional generator can express it. Because it is a deterministic
function of the digit, every test digit x has its true translation outline(x):
the translations are scored against ground truth (L1, PSNR), which MNIST <->
USPS cannot offer. Other candidates measure less: plain inversion (1 - x) is
a one-pixel map the baselines below already solve; colour or texture would
need 3-channel networks; grey <-> colour natural images have a true answer too
but their generators would need to be rebuilt for a new size and channels.
Training stays unpaired: MNIST train is split once by a fixed seed into two
disjoint halves (`zoo.data.styled.unpaired_styled`), A the first half as it is,
B the outlines of the second, each shuffled on its own; labels are never used.

Measured on the 10000 MNIST test digits x:
- MNIST->outline: mean L1 and PSNR (mean over images) of G(x) vs outline(x),
  next to the baselines "identity" (x itself) and "inversion" (1 - x);
- outline->MNIST: mean L1 and PSNR of F(outline(x)) vs x, next to the
  baselines outline(x) and 1 - outline(x) (the same numbers as the other way:
  L1 and PSNR are symmetric and |1 - x - outline(x)| = |1 - outline(x) - x|);
  label preservation: `mnistnet` accuracy on F(outline(x)), next to its
  accuracy on x and on the untranslated outline(x);
- cycle reconstruction error both ways: mean |F(G(x)) - x| and
  |G(F(outline(x))) - outline(x)|.
Pictures, each way: rows of inputs, translations, reconstructions and the true
translations.

    ZOO_DATA_DIR=../shared/data python recipes/cyclegan_mnist_outline.py           # -> checkpoints/cyclegan_mnist_outline
    ZOO_DATA_DIR=../shared/data python recipes/cyclegan_mnist_outline.py --quick   # seconds, writes under logs/
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
from zoo.data.styled import outline, unpaired_styled  # noqa: E402
from zoo import evaluation  # noqa: E402
from zoo.metrics import psnr  # noqa: E402
from zoo.viz import save_rows  # noqa: E402

NAME = "cyclegan_mnist_outline"
DESCRIPTION = ("CycleGAN (Zhu et al. 2017) translating 28x28 MNIST digits to and from their outlines "
               "(3x3 morphological gradient, dark on white), trained unpaired; scored against the true outlines.")
PAPER = ("Zhu, Park, Isola & Efros, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial "
         "Networks, ICCV 2017 (arXiv:1703.10593)")
STEPS = 3000  # updates of each network: about 14 minutes on the project's 2-core CPU (TensorFlow, 0.28 s a step)


def scores(estimate, truth):
    """Mean |estimate - truth| over all pixels and mean PSNR (dB, peak 1) over images."""
    return {"l1": float(np.mean(np.abs(estimate - truth))),
            "psnr": float(np.mean([psnr(t, e) for t, e in zip(truth, estimate, strict=True)]))}


def protocol(args):
    """How the card's numbers are measured (zoo.evaluation.cyclegan_outline; `zoo evaluate` runs it again)."""
    return {"images": 256 if args.quick else None}


def baselines_of(x, y, judge):
    """What needs no model: the identity and inversion baselines (the same both ways) and `judge`'s accuracy on
    `x` and on `outline(x)`."""
    styled = outline(x)
    identity, inversion = scores(x, styled), scores(1.0 - x, styled)
    return {"identity_l1": identity["l1"], "identity_psnr": identity["psnr"],
            "inversion_l1": inversion["l1"], "inversion_psnr": inversion["psnr"],
            "accuracy_real": float(np.mean(judge.predict_labels(x) == y)),
            "accuracy_untranslated": float(np.mean(judge.predict_labels(styled) == y))}


def judge_metrics(measured, n):
    """The card's rows of mnist_judge (zoo.metrics.judges: never trained against) on the outlines of test digits
    translated back to MNIST, and as a fraction of its accuracy on the digits themselves, from the values of
    zoo.evaluation.cyclegan_outline."""
    judged, relative = measured["accuracy_b2a_mnist_judge"], measured["relative_accuracy_b2a_mnist_judge"]
    split = f"outlines of MNIST test ({n} digits) -> MNIST"
    return [
        {"key": "accuracy_b2a_mnist_judge", "name": "outline->MNIST label preservation (mnist_judge accuracy on "
         "translations)", "value": round(judged, 4), "lower_is_better": False, "split": split,
         "reference": f"mnist_judge on the MNIST digits themselves: {judged / relative:.4f}"},
        {"key": "relative_accuracy_b2a_mnist_judge", "name": "outline->MNIST label preservation relative to the "
         "judge (on translations / on the digits themselves)", "value": round(relative, 4),
         "lower_is_better": False, "split": split},
    ]


def metrics_list(a2b, b2a, baselines, n):
    split = {"a2b": f"MNIST test ({n} digits) -> outlines", "b2a": f"outlines of MNIST test ({n} digits) -> MNIST"}
    title = {"a2b": "MNIST->outline", "b2a": "outline->MNIST"}
    truth = {"a2b": "G(x) vs outline(x)", "b2a": "F(outline(x)) vs x"}
    baseline_inputs = {"a2b": ("x", "1 - x"), "b2a": ("outline(x)", "1 - outline(x)")}
    metrics = []
    for key, run in (("a2b", a2b), ("b2a", b2a)):
        same, inverted = baseline_inputs[key]
        metrics += [
            {"key": f"l1_{key}", "name": f"{title[key]} error against the true translation (mean |{truth[key]}|)",
             "value": round(run["l1"], 4), "lower_is_better": True,
             "reference": f"identity ({same}): {baselines['identity_l1']:.4f}; inversion ({inverted}): "
                          f"{baselines['inversion_l1']:.4f}",
             "split": split[key]},
            {"key": f"psnr_{key}", "name": f"{title[key]} PSNR against the true translation ({truth[key]}, "
             "mean over images)", "value": round(run["psnr"], 3), "unit": "dB", "lower_is_better": False,
             "reference": f"identity ({same}): {baselines['identity_psnr']:.3f}; inversion ({inverted}): "
                          f"{baselines['inversion_psnr']:.3f}", "split": split[key]},
        ]
        if key == "b2a":
            metrics.append(
                {"key": "accuracy_b2a", "name": "outline->MNIST label preservation (mnistnet accuracy on "
                 "translations)", "value": round(run["accuracy"], 4), "lower_is_better": False,
                 "reference": f"on the MNIST digits themselves: {baselines['accuracy_real']:.4f}; on their "
                              f"outlines, untranslated: {baselines['accuracy_untranslated']:.4f}",
                 "split": split[key]})
        metrics.append(
            {"key": f"cycle_l1_{key}", "name": f"{title[key]} cycle reconstruction error (mean |x' - x|)",
             "value": round(run["cycle_l1"], 4), "lower_is_better": True, "split": split[key]})
    return metrics


def parse_args(argv=None):
    return _common.cyclegan_args(__doc__.splitlines()[0], steps=STEPS, argv=argv)


def domains(args):
    """The unpaired training images: two disjoint seeded halves of MNIST's training digits, the first as they are
    (A), the outlines of the second (B); the same halves whatever --seed. Labels are never used for training."""
    x_train, _ = zoo.data.load("mnist", "train[:1024]" if args.quick else "train")
    return unpaired_styled(x_train)


def training_data(args):
    """What the recipe trains on, from its own loaders (tests/test_test_sets.py keeps test sets out of it)."""
    return {"images": np.concatenate(domains(args))}


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    out, results_path = _common.outputs(args, NAME)
    _common.check_state(args, NAME)  # before the data: a bad --resume fails at once
    x_a, x_b = domains(args)
    x_test, y_test = zoo.data.load("mnist", "test[:256]" if args.quick else "test")
    mnistnet = zoo.load("mnistnet", compile=False)

    model, history, state, training = _common.train_cyclegan(args, NAME, x_a, x_b)

    measurements = evaluation.cyclegan_outline(model, **protocol(args))
    m = evaluation.values(measurements)
    a2b = {"l1": m["l1_a2b"], "psnr": m["psnr_a2b"], "cycle_l1": m["cycle_l1_a2b"]}
    b2a = {"l1": m["l1_b2a"], "psnr": m["psnr_b2a"], "cycle_l1": m["cycle_l1_b2a"], "accuracy": m["accuracy_b2a"]}
    baselines = baselines_of(x_test, y_test, mnistnet)
    print(f"baselines: identity L1 {baselines['identity_l1']:.4f}, PSNR {baselines['identity_psnr']:.2f} dB; "
          f"inversion L1 {baselines['inversion_l1']:.4f}, PSNR {baselines['inversion_psnr']:.2f} dB")
    for key, run in (("MNIST->outline", a2b), ("outline->MNIST", b2a)):
        print(f"{key}: L1 {run['l1']:.4f}, PSNR {run['psnr']:.2f} dB, cycle L1 {run['cycle_l1']:.4f}")
    print(f"outline->MNIST: mnistnet accuracy {b2a['accuracy']:.4f} (on MNIST {baselines['accuracy_real']:.4f}, "
          f"on untranslated outlines {baselines['accuracy_untranslated']:.4f})")
    pictures = []
    for key, inputs, truth in (("a2b", x_test[:16], outline(x_test[:16])), ("b2a", outline(x_test[:16]), x_test[:16])):
        translation = model.translate(inputs, key)
        rows = [inputs, translation, model.translate(translation, "b2a" if key == "a2b" else "a2b"), truth]
        pictures.append(save_rows(rows, results_path.with_name(f"{NAME}_{key}.png")).name)

    metrics = evaluation.with_protocol(metrics_list(a2b, b2a, baselines, len(x_test)) + judge_metrics(m, len(x_test)),
                                       "cyclegan_outline", protocol(args), measurements)
    results = _common.results_record(
        NAME, args, metrics, state, history, pictures=pictures,
        baselines={k: round(v, 4) for k, v in baselines.items()},
        domains={"a": len(x_a), "b": len(x_b), "test": len(x_test)}, **training)
    save_checkpoint(model, out, overwrite=True, metadata={
        "name": NAME,
        "description": DESCRIPTION,
        "paper": PAPER,
        "family": "cyclegan",
        "license": "apache-2.0",
        "dataset": {"name": "mnist", "license": "CC BY-SA 3.0", "url": "http://yann.lecun.com/exdb/mnist/",
                    "split": f"train, unpaired and unlabelled: two disjoint seeded halves, {len(x_a)} digits as "
                             f"they are (A) and the outlines of {len(x_b)} others (B)"},
        "metrics": metrics,
        **_common.provenance(results, f"recipes/{NAME}.py"),
        "steps": training["steps"], "epochs": training["epochs"],
        "tags": ["cyclegan", "image-to-image", "unpaired", "style-transfer", "mnist"],
        "pipeline_tag": "image-to-image",
        "how_to_load": ('```python\nimport zoo\nfrom zoo.data.styled import outline\n\n'
                        'model = zoo.load("cyclegan_mnist_outline")\n'
                        'outlines = model.translate(mnist_images, direction="a2b")   # (n, 28, 28, 1) in [0, 1]\n'
                        'digits = model.translate(outline(mnist_images), direction="b2a")\n```'),
        "intended_use": "Translating 28x28 grey MNIST digits to dark-on-white outlines and back; a small, "
                        "CPU-trained CycleGAN whose translations can be checked against the true outlines "
                        "(zoo.data.styled.outline).",
        "limitations": "Only 28x28 grey digits in [0, 1] laid out like MNIST. Domain B is a synthetic style, "
                       "so this measures how well unpaired training recovers a known local map, not transfer "
                       "to real outline drawings. Cycle consistency does not force labels to survive: see the "
                       "label-preservation accuracy.",
    })
    _common.write_json(results_path, results)
    print(f"wrote {out}, {results_path} and {', '.join(pictures)}")
    return results


if __name__ == "__main__":
    _common.run(main)
