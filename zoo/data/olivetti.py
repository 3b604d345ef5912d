"""Olivetti faces: 400 grey 64x64 images of 40 people, 10 each (AT&T Laboratories Cambridge, formerly ORL).

Samaria & Harter, "Parameterisation of a stochastic model for human face
identification", IEEE Workshop on Applications of Computer Vision, 1994; the
64x64 version is Sam Roweis'. TFDS has no builder for it, so the zoo reads
`$ZOO_DATA_DIR/olivetti_faces/olivetti_faces.npz` (the layout of the project's
`shared/data`, whose MANIFEST.md gives the file's origin) directly, after
checking its sha256.

The fixed identification split is per person: images 0-6 of each person are
the gallery (`"train"`, 280 images), images 7-9 the queries (`"test"`, 120
images). Every person is in both, as face identification needs; the identity
judge (`olivetti_judge`) is trained on `"train"` and tested on `"test"`.

Generative and completion models split by person instead: they train on the
30 `"train_people"` (300 images) and are tested on the 10 `"held_out_people"`
(100 images), whom they never see. `HELD_OUT_PEOPLE` was drawn once
(`sorted(np.random.default_rng(0).choice(40, 10, replace=False))`) and is fixed
here for every such model. The identity judge knows the held-out people from
their images 0-6, so identity is judged on their images 7-9
(`"held_out_people_test"`, 30 images), which neither the judge nor the model
was trained on.
"""

import hashlib
import os

import numpy as np

from zoo.errors import DataNotFoundError, InputError

FOLDER = "olivetti_faces"
FILE = "olivetti_faces.npz"
# From shared/data/olivetti_faces/MANIFEST.md; the file is verified against it before use.
SHA256 = "1bc306c8729a0170c186c82adbabe9ca9b4f3a5bd8a01f37278c167a9f8e6404"
IMAGE_SHAPE = (64, 64, 1)
N_PEOPLE = 40
IMAGES_PER_PERSON = 10
TRAIN_PER_PERSON = 7  # images 0..6 of each person train, 7..9 test
HELD_OUT_PEOPLE = (0, 1, 2, 6, 9, 10, 16, 20, 26, 32)  # never seen by generative or completion models
SPLITS = ("train", "test", "all", "train_people", "held_out_people", "held_out_people_test", "train_people_train",
          "train_people_test")


def load_olivetti(split="all", data_dir=None):
    """Olivetti faces as float32 `(n, 64, 64, 1)` images in [0, 1] (uint8 / 255) and int64 person ids.

    Args:
        split: `"train"` (images 0-6 of each person, 280), `"test"` (images 7-9,
            120), `"all"` (400, ordered by person); by person: `"train_people"`
            (the 30 people not held out, 300), `"held_out_people"` (the 10 of
            `HELD_OUT_PEOPLE`, 100) or `"held_out_people_test"` (their images 7-9, 30); the 30 people's
            images 0-6 (`"train_people_train"`, 210) or 7-9 (`"train_people_test"`, 90), for a network that
            face models use in training (facenet) and so must not know the held-out people.
        data_dir: a folder laid out like `shared/data`; defaults to `$ZOO_DATA_DIR`.

    Raises:
        InputError: an unknown `split`.
        DataNotFoundError: no data dir, a missing file, or a file whose sha256
            differs from the one in the dataset's MANIFEST.md.
    """
    if split not in SPLITS:
        raise InputError(f"Unknown split {split!r} for olivetti_faces; expected one of {list(SPLITS)}.")
    path = data_path(data_dir)
    images, labels = _read(path)
    if split == "all":
        return images, labels
    held_out = np.isin(labels, HELD_OUT_PEOPLE)
    keep = {"train_people": ~held_out, "held_out_people": held_out,
            "held_out_people_test": held_out & split_mask(len(labels), train=False),
            "train_people_train": ~held_out & split_mask(len(labels), train=True),
            "train_people_test": ~held_out & split_mask(len(labels), train=False)}.get(split)
    if keep is None:
        keep = split_mask(len(labels), train=split == "train")
    return images[keep], labels[keep]


def split_mask(n=N_PEOPLE * IMAGES_PER_PERSON, train=True):
    """Boolean mask of the fixed split over the 400 images ordered by person (10 consecutive each)."""
    index_in_person = np.arange(n) % IMAGES_PER_PERSON
    return index_in_person < TRAIN_PER_PERSON if train else index_in_person >= TRAIN_PER_PERSON


def data_path(data_dir=None):
    """`<data_dir or $ZOO_DATA_DIR>/olivetti_faces/olivetti_faces.npz`, checked to exist."""
    root = data_dir if data_dir is not None else os.environ.get("ZOO_DATA_DIR")
    if not root:
        raise DataNotFoundError(
            "olivetti_faces is read from $ZOO_DATA_DIR, which is not set. Set ZOO_DATA_DIR to a folder "
            f"laid out like the project's shared/data (holding {FOLDER}/{FILE}), e.g. ../shared/data."
        )
    path = os.path.join(os.fspath(root), FOLDER, FILE)
    if not os.path.isfile(path):
        raise DataNotFoundError(f"{path} does not exist; expected the Olivetti faces file {FOLDER}/{FILE} "
                                f"under the data dir {root}.")
    return path


def _read(path):
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != SHA256:
        raise DataNotFoundError(f"{path} has sha256 {digest}, expected {SHA256} (from its MANIFEST.md): "
                                "the file is altered or truncated. Copy it again.")
    with np.load(path) as data:
        images, labels = data["images"], data["target"]
    expected = (N_PEOPLE * IMAGES_PER_PERSON,) + IMAGE_SHAPE[:2]
    if images.shape != expected or labels.shape != expected[:1]:
        raise DataNotFoundError(f"{path} holds images {images.shape} and labels {labels.shape}; "
                                f"expected {expected} and {expected[:1]}.")
    return (images[..., None].astype("float32") / 255.0), labels.astype("int64")
