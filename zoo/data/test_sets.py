"""The test sets: one registry of the data no recipe may train on, and the check that keeps them out.

    check_training_data({"images": x_train}, family="gan")        # raises if a test item is in it

A test set is known by what it holds, not by its name: the check fingerprints
every training item (the bytes of an image as uint8, a file's decoded pixels, a
sentence) and looks each up among the fingerprints of every registered test
set. An item that a dataset's own training split also holds (Multi30k repeats
short captions such as "a man is sleeping ." across its files; a few MNIST
digits are byte-identical across its splits) is no leak: it is allowed where,
and only where, it is in that official training split. Natural images are
also checked by file: no training file may lie in a test set's folder.

`tests/test_test_sets.py` runs every recipe's `training_data(args)` (what the
recipe really trains on, from its own loaders) through this check.
"""

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from zoo.errors import InputError


@dataclass(frozen=True)
class TestSet:
    name: str
    kind: str  # "images" (arrays in [0, 1] or uint8), "image_files" (paths), "sentences" or "episode_seeds"
    description: str
    items: Callable  # -> the set's items, of `kind`
    train_split: Callable = None  # -> the dataset's official training split, same kind (its overlap is allowed)
    families: tuple = ()  # families it is a test set for; () means every recipe
    # Families it is not a test set for: clustering is measured on every image of the dataset, train and test, as
    # DEC, IDEC and VaDE report it (no label is used in training; the measurement is over the data it clustered).
    not_for: tuple = ()
    folders: Callable = field(default=None)  # -> folders whose files are all test files ("image_files" only)


def _evaluation_episodes():
    from zoo.models.evolution import EVALUATION_SEED

    return range(EVALUATION_SEED, EVALUATION_SEED + 100)


def _idx(name, split):
    def load():
        from zoo.data import load

        return load(name, split)[0]

    return load


def _usps(split):
    def load():
        from zoo.data.usps import load_usps

        return load_usps(split)[0]

    return load


def _natural(name):
    def files():
        from zoo.data import natural

        return natural.image_files(name)

    return files


def _natural_folder(name):
    def folders():
        from zoo.data import natural

        return [natural.set_folder(name)]

    return folders


def _multi30k(split):
    def load():
        from zoo.data.multi30k import LANGUAGES, load_multi30k

        return [s for sentences in load_multi30k(split, LANGUAGES).values() for s in sentences]

    return load


def _olivetti(split):
    def load():
        from zoo.data.olivetti import load_olivetti

        return load_olivetti(split)[0]

    return load


# ... and the classifiers: a face classifier is a feature network inside face models' losses (facenet).
FACE_MODELS = ("autoencoder", "vae", "gan", "completion", "progan", "denoiser", "super_resolution", "classifier")

TEST_SETS = {t.name: t for t in [
    TestSet("mnist_test", "images", "MNIST test split (10k)", _idx("mnist", "test"), _idx("mnist", "train"),
            not_for=("clustering",)),
    TestSet("fashion_mnist_test", "images", "Fashion-MNIST test split (10k)", _idx("fashion_mnist", "test"),
            _idx("fashion_mnist", "train"), not_for=("clustering",)),
    TestSet("usps_test", "images", "USPS test split (2007), in the zoo's 28x28 layout", _usps("test"), _usps("train")),
    TestSet("set5", "image_files", "Set5 (super-resolution)", _natural("set5"), folders=_natural_folder("set5")),
    TestSet("set14", "image_files", "Set14 (super-resolution)", _natural("set14"), folders=_natural_folder("set14")),
    TestSet("bsd100", "image_files", "BSD100, the BSDS300 test split (super-resolution)", _natural("bsd100"),
            folders=_natural_folder("bsd100")),
    TestSet("bsd68", "image_files", "BSD68 (grey denoising), a subset of BSD100", _natural("bsd68"),
            folders=_natural_folder("bsd68")),
    TestSet("cbsd68", "image_files", "CBSD68 (colour denoising)", _natural("cbsd68"), folders=_natural_folder("cbsd68")),
    TestSet("multi30k_val", "sentences", "Multi30k validation file (1014 lines a language)", _multi30k("val"),
            _multi30k("train")),
    TestSet("multi30k_test_2016_flickr", "sentences", "Multi30k test_2016_flickr (1000 lines a language)",
            _multi30k("test_2016_flickr"), _multi30k("train")),
    TestSet("olivetti_held_out_people", "images", "the 10 Olivetti people held out of generative and completion "
            "models (zoo.data.olivetti.HELD_OUT_PEOPLE)", _olivetti("held_out_people"), families=FACE_MODELS),
    TestSet("evaluation_episodes", "episode_seeds", "the seeds of the evolved policies' 100 evaluation episodes "
            "(zoo.models.evolution.EVALUATION_SEED on)", _evaluation_episodes),
]}
KINDS = ("images", "image_files", "sentences", "episode_seeds")


def fingerprint(item, kind):
    """A content hash: an image's uint8 pixels and shape, a file's decoded grey pixels, a stripped sentence, an
    episode's seed (an environment's episode is a function of its seed)."""
    if kind == "episode_seeds":
        return f"seed {int(item)}"
    if kind == "sentences":
        return hashlib.sha256(" ".join(str(item).split()).encode("utf-8")).hexdigest()
    if kind == "image_files":
        from zoo.data.natural import read_image

        item = read_image(item, channels=1)
    pixels = np.asarray(item)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.round(pixels.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    pixels = np.squeeze(pixels)
    return hashlib.sha256(str(pixels.shape).encode() + pixels.tobytes()).hexdigest()


def fingerprints(items, kind):
    return {fingerprint(item, kind) for item in items}


@lru_cache(maxsize=None)
def _test_fingerprints(name):
    test = TEST_SETS[name]
    found = fingerprints(test.items(), test.kind)
    allowed = fingerprints(test.train_split(), test.kind) if test.train_split else set()
    return frozenset(found - allowed), frozenset(found & allowed)


def check_training_data(data, family=None):
    """Raise `InputError` if training data holds an item of a registered test set.

    Args:
        data: `{kind: items}`, kind in `KINDS`: what a recipe trains on
            ("images": arrays, "image_files": paths, "sentences": strings).
        family: the recipe's model family; test sets registered for some
            families only (the held-out Olivetti people) apply to those, and
            the digit test splits not to "clustering" (measured on all the images).

    Returns:
        `{test set name: number of its items the data holds that the dataset's
        own training split holds too}`: the overlaps that are allowed.
    """
    unknown = set(data) - set(KINDS)
    if unknown:
        raise InputError(f"training data kinds must be among {KINDS}; got {sorted(unknown)}")
    allowed = {}
    for kind, items in data.items():
        if kind == "image_files":
            _check_folders(items, family)
        prints = fingerprints(items, kind)
        for test in TEST_SETS.values():
            if test.kind != kind or not _applies(test, family):
                continue
            leaked, shared = _test_fingerprints(test.name)
            if prints & leaked:
                raise InputError(f"the training data holds {len(prints & leaked)} items of the test set {test.name} "
                                 f"({test.description}); a test set is never trained on")
            if prints & shared:
                allowed[test.name] = len(prints & shared)
    return allowed


def _applies(test, family):
    """Whether `test` is a test set for recipes of `family`."""
    return (not test.families or family in test.families) and family not in test.not_for


def _check_folders(files, family):
    for test in TEST_SETS.values():
        if test.folders is None or not _applies(test, family):
            continue
        for folder in test.folders():
            inside = [f for f in files if Path(folder).resolve() in Path(f).resolve().parents]
            if inside:
                raise InputError(f"{inside[0]} is a file of the test set {test.name} ({test.description}); a test "
                                 "set is never trained on")
