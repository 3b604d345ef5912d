"""Judges: classifiers that score what models make, and that no training may use.

A network inside a training loss (a classifier asked to keep a translation's
class, a feature net of a perceptual loss) is what the model learns to please;
if the same network then scores the result, the score measures how well it was
pleased, not the result. So every dataset has one judge, trained by
`recipes/judge.py` with another architecture (residual blocks, BatchNorm,
global pooling) and another seed than the zoo's feature networks (mnistnet,
fashionnet, uspsnet), and used for scoring only:

    judge = zoo.metrics.judges.judge("mnist")       # the mnist_judge checkpoint
    fid = frechet_distance(judge.features(real), judge.features(fake))
    check_not_judge(feature_net, "the perceptual loss")   # what losses call on their networks

Judge metrics carry the judge's name in their key (`fid_mnist_judge`,
`accuracy_mnist_judge`), apart from those of the feature networks.
"""

from functools import lru_cache

from zoo.errors import InputError

JUDGES = {
    "mnist": "mnist_judge",
    "fashion_mnist": "fashion_mnist_judge",
    "usps": "usps_judge",
    "olivetti": "olivetti_judge",
}
FAMILY = "judge"


def judge_name(dataset):
    """The judge checkpoint of `dataset` (a key of `JUDGES`)."""
    if dataset not in JUDGES:
        raise InputError(f"no judge for dataset {dataset!r}; the zoo has judges for {sorted(JUDGES)}")
    return JUDGES[dataset]


@lru_cache(maxsize=None)
def judge(dataset):
    """The judge of `dataset`, loaded once per process (not compiled: it only scores)."""
    import zoo

    return zoo.load(judge_name(dataset), compile=False)


def is_judge(network):
    """Whether `network` is a judge or a part of one (a loaded judge marks its layers)."""
    return getattr(network, "zoo_metadata", {}).get("family") == FAMILY or getattr(network, "_zoo_judge", False)


def mark_judge(model):
    """Mark a loaded judge and every layer in it, so that `check_not_judge` knows them wherever they go."""
    for layer in [model, *model._flatten_layers(include_self=False)]:
        layer._zoo_judge = True
    return model


def check_not_judge(network, role="a training loss"):
    """Raise `InputError` if `network` (or a part of it) is a judge: a judge never takes part in training."""
    layers = [network, *network._flatten_layers(include_self=False)] if hasattr(network, "_flatten_layers") \
        else [network]
    if any(is_judge(layer) for layer in layers):
        raise InputError(f"{getattr(network, 'name', network)!r} is (part of) a judge, which only scores results; "
                         f"it cannot be used in {role}. Use a feature network the zoo trains for training "
                         f"(e.g. mnistnet, fashionnet, uspsnet), and keep the judges ({sorted(JUDGES.values())}) "
                         "for measuring.")
    return network
