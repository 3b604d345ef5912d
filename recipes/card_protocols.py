"""Recipe: give the bundled cards their evaluation protocols, and check that each card's numbers reproduce.

`zoo evaluate MODEL` re-measures a card with the protocol each metric names
(zoo/evaluation.py). The cards written before protocols existed name none;
this recipe runs, for every bundled checkpoint, the protocol its recipe's
evaluation follows (same data, sample counts and seeds), and writes into each
metric the protocol and a tolerance of three standard errors over the evaluated
items, measured here. A metric that needs training (a linear probe, few-label
fine-tuning, the word-by-word start of translation, averages over refitted
random splits) gets the reason it is not evaluated instead. The card keeps its
value; whether this run reproduced it goes to results/card_protocols.json.

    python recipes/card_protocols.py                       # every bundled checkpoint (about an hour on a CPU)
    python recipes/card_protocols.py --models vae_mnist dae_bsd
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # recipes/_common.py

import keras  # noqa: E402

import _common  # noqa: E402
import zoo  # noqa: E402
from zoo import cards, evaluation, registry  # noqa: E402
from zoo.checkpoints import METADATA_FILE  # noqa: E402
from zoo.io import write_atomic  # noqa: E402
from zoo.text import moses_bleu  # noqa: E402

CLASSIFIERS = {"mnistnet": "mnist", "fashionnet": "fashion_mnist", "uspsnet": "usps", "facenet": "olivetti_train_people"}
NEEDS_TRAINING = {
    "linear_probe": "needs training: a linear probe is fitted on the codes",
    "labels_": "needs training: few-label fine-tuning",
    "bleu_word_by_word_": "needs training: the word-by-word start comes from embeddings learned and aligned anew",
    "identification_accuracy_random_splits": "needs training: each random split fits the model anew",
}


def protocol_of(name, metadata, results):
    """`(protocol name, args)` of bundled checkpoint `name`: what its recipe's evaluation did."""
    family = metadata["family"]
    if name == "vae_mnist":
        return "iwae", {"dataset": "mnist", "split": "test", "binarization_seed": 123, "k": results.get("k", 1000),
                        "seed": results["seed"]}
    if name.startswith("dfcvae_"):  # its card names the protocol its recipe measured it by (samples, or faces)
        carried = next(metric["protocol"] for metric in metadata["metrics"] if "protocol" in metric)
        return carried["name"], carried["args"]
    if family in ("autoencoder", "vae"):
        dataset = "fashion_mnist" if "fashion" in name else "mnist"
        return "reconstruction", {"dataset": dataset, "seed": results["seed"]}
    if name == "gan_stacked_mnist":
        return "stacked_modes", {"samples": results["samples"], "seed": results["seed"]}
    if family == "gan":
        dataset = results["dataset"]
        return "gan_samples", {"dataset": dataset, "samples": results.get("samples") or 10000,
                               "seed": results["seed"], "classifier": "fashionnet" if "fashion" in dataset else "mnistnet"}
    if name == "cyclegan_mnist_usps":
        return "cyclegan_usps", {}
    if name == "cyclegan_mnist_outline":
        return "cyclegan_outline", {}
    if name == "dae_bsd":
        return "denoising", {"sigmas": [15, 25, 50], "noise_seed": results.get("noise_seed", 0)}
    if name in CLASSIFIERS:
        return "classification", {"dataset": CLASSIFIERS[name], "name": name}
    if family == "judge":
        dataset = results["dataset"]
        network = {v: k for k, v in CLASSIFIERS.items()}.get(dataset)
        return "classification", {"dataset": dataset, "name": name, "agreement": network}
    if family == "classical":
        return "identification", {}
    if family == "unmt":
        return "translation", {"test": "test_2016_flickr", "beam": 4, "val_seed": results["seed"]}
    raise ValueError(f"no protocol known for {name} (family {family})")


def the_papers_way(metrics, protocol_args, measured):
    """Translation cards gain BLEU on lowercased Moses tokens (multi-bleu, how Lample et al. 2018 measured), and
    the paper's numbers move to those: sacrebleu on detokenized text reads lower and is compared with nothing."""
    out = []
    for metric in metrics:
        key = metric["key"]
        if not key.startswith("bleu_") or key.startswith("bleu_word_by_word_") or f"moses_{key}" not in measured:
            out.append(metric)
            continue
        source, target = key.split("_")[1:3]
        m = measured[f"moses_{key}"]
        reference = metric.pop("reference", None)
        if reference:
            metric["reference"] = f"none in this form (the paper's: moses_{key})"
        out.append(metric)
        if any(other["key"] == f"moses_{key}" for other in metrics):
            continue
        out.append({"key": f"moses_{key}", "name": f"BLEU {source}->{target} on Moses tokens, lowercased "
                    "(multi-bleu, the paper's way)", "lower_is_better": False, "unit": "BLEU",
                    "split": metric["split"], "signature": moses_bleu(["a"], ["a"], target).signature, "value": round(m.value, 2),
                    "protocol": {"name": "translation", "args": protocol_args}, "tolerance": round(m.tolerance, 6),
                    **({"reference": reference} if reference else {})})
    return out


def parse_args(argv=None):
    bundled = sorted(n for n, e in registry.ENTRIES.items() if e.checkpoint_dir.is_dir())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=bundled, default=bundled)
    return parser.parse_args(argv)


def training_data(args):
    """Trains nothing: it measures bundled checkpoints."""
    return {}


def main(argv=None):
    args = parse_args(argv)
    report_path = _common.ROOT / "results" / "card_protocols.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {"models": {}}
    for name in args.models:
        folder = registry.get(name).checkpoint_dir
        metadata = json.loads((folder / METADATA_FILE).read_text())
        results_file = _common.ROOT / metadata["zoo"].get("results_file", f"results/{name}.json")
        results = json.loads(results_file.read_text()) if results_file.is_file() else {"seed": 0}
        protocol, protocol_args = protocol_of(name, metadata["zoo"], results)
        clock = _common.Stopwatch()
        measured = evaluation.PROTOCOLS[protocol](zoo.load(name, compile=False), **protocol_args)
        metrics = evaluation.with_protocol(metadata["zoo"]["metrics"], protocol, protocol_args, measured)
        if protocol == "translation":
            metrics = the_papers_way(metrics, protocol_args, measured)
        rows = {}
        for metric in metrics:
            if "protocol" not in metric:
                metric["not_evaluated"] = next((why for prefix, why in NEEDS_TRAINING.items()
                                                if metric["key"].startswith(prefix)), "no protocol measures it")
                continue
            m = measured[metric["key"]]
            rows[metric["key"]] = {"card": metric["value"], "measured": round(m.value, 6),
                                   "tolerance": metric["tolerance"],
                                   "within": abs(m.value - metric["value"]) <= metric["tolerance"] + 5e-4}
        metadata["zoo"]["metrics"] = metrics
        write_atomic(folder / METADATA_FILE, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        report["models"][name] = {"protocol": protocol, "args": protocol_args, "seconds": clock.seconds,
                                  "metrics": rows, "command": _common.command_line(), "git_commit": _common.COMMIT,
                                  "device": _common.device(), "backend": keras.backend.backend(),
                                  "date": time.strftime("%Y-%m-%d")}
        off = [k for k, r in rows.items() if not r["within"]]
        print(f"{name}: {protocol} in {clock.seconds:.0f} s; {len(rows)} measured"
              + (f"; OUTSIDE: {off}" if off else ", all within tolerance"), flush=True)
        _common.write_json(report_path, report)  # after each model: a long run keeps what it measured
    for path in cards.write_cards(_common.ROOT):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
