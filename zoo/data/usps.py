"""USPS digits from the local files, laid out like MNIST: 28x28 grey images in [0, 1].

USPS (Le Cun et al., "Handwritten Digit Recognition with a Back-Propagation
Network", NeurIPS 1989; Hull, "A Database for Handwritten Text Recognition
Research", TPAMI 1994) as distributed with "The Elements of Statistical
Learning": `zip.train.gz` (7291 digits) and `zip.test.gz` (2007), one digit a
text line: its label, then 16x16 grey values in [-1, 1] (-1 is the background).
TFDS has no USPS builder, so the files are read here, from
`$ZOO_DATA_DIR/usps/` (the layout of the project's shared/data), after their
sha256 is checked against the values recorded in that folder's MANIFEST.md.

How 16x16 becomes 28x28, and why: USPS digits are size-normalized to fill
their 16x16 frame (the height is 16 pixels for almost every digit), while
MNIST digits are normalized into a 20x20 box centred in a 28x28 frame with 4
background pixels around it. So each digit is resized bilinearly to 20x20
(`box=20`) and padded with 4 background pixels a side. The two domains then
differ in handwriting, stroke width and contrast, not in where the digit sits
and how large it is, which is the change a translation network with a local
receptive field can learn. `box=28` gives the plain 28x28 resize instead.
The resize uses Pillow, so the images are the same on every Keras backend.
"""

import gzip
import hashlib
import os
import zlib

import numpy as np

from zoo.errors import DataNotFoundError, InputError

# split -> (file, sha256 from shared/data/usps/MANIFEST.md, number of digits)
FILES = {
    "train": ("zip.train.gz", "66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16", 7291),
    "test": ("zip.test.gz", "8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f", 2007),
}
SOURCE_SIZE = 16
IMAGE_SIZE = 28


def load_usps(split="train", *, box=20, data_dir=None):
    """USPS digits as float32 `(n, 28, 28, 1)` images in [0, 1] and int64 labels `(n,)`.

    Args:
        split: `"train"` (7291 digits) or `"test"` (2007).
        box: the digits are resized to `box` x `box` and centred in 28x28;
            20 (the default) matches MNIST's 20x20 box, 28 fills the frame.
        data_dir: a folder laid out like shared/data (holding `usps/zip.*.gz`);
            defaults to `$ZOO_DATA_DIR`.

    Raises:
        InputError: unknown split or a bad box.
        DataNotFoundError: the file is missing, fails its checksum, or cannot be parsed.
    """
    if split not in FILES:
        raise InputError(f"Unknown USPS split {split!r}; expected one of {list(FILES)}.")
    if not isinstance(box, (int, np.integer)) or not SOURCE_SIZE <= box <= IMAGE_SIZE or (IMAGE_SIZE - box) % 2:
        raise InputError(f"box must be an even int from {SOURCE_SIZE} to {IMAGE_SIZE}; got {box!r}.")
    images, labels = read_usps_file(_source_path(split, data_dir), *FILES[split][1:])
    return to_mnist_layout(images, box=int(box)), labels


def to_mnist_layout(images, box=20):
    """USPS grey values (n, 16, 16) in [-1, 1] -> (n, 28, 28, 1) in [0, 1]: bilinear resize to `box`, then pad."""
    from PIL import Image

    unit = np.clip((np.asarray(images, dtype="float32") + 1.0) / 2.0, 0.0, 1.0)
    pad = (IMAGE_SIZE - box) // 2
    out = np.zeros((len(unit), IMAGE_SIZE, IMAGE_SIZE, 1), dtype="float32")
    for i, image in enumerate(unit):
        resized = Image.fromarray(image, mode="F").resize((box, box), Image.Resampling.BILINEAR)
        out[i, pad:pad + box, pad:pad + box, 0] = np.asarray(resized)
    return np.clip(out, 0.0, 1.0)


def read_usps_file(path, expected_sha256, expected_count):
    """(grey values (n, 16, 16) in [-1, 1], labels (n,)) of one ESL `zip.*.gz` file, after its checksum."""
    with open(path, "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    if actual != expected_sha256:
        raise DataNotFoundError(
            f"{path} fails its checksum (sha256 {actual}, expected {expected_sha256} as recorded in "
            "shared/data/usps/MANIFEST.md): the file is truncated or altered. Copy it again."
        )
    try:
        with gzip.open(path, "rt") as f:
            rows = np.loadtxt(f, dtype="float32", ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error) as e:
        raise DataNotFoundError(f"Cannot parse {path}: {e}. Expected gzipped text rows of 257 numbers.") from e
    if rows.shape != (expected_count, 1 + SOURCE_SIZE * SOURCE_SIZE):
        raise DataNotFoundError(
            f"{path} holds an array of shape {rows.shape}; expected ({expected_count}, "
            f"{1 + SOURCE_SIZE * SOURCE_SIZE}): a label and 16x16 grey values per digit."
        )
    return rows[:, 1:].reshape(-1, SOURCE_SIZE, SOURCE_SIZE), rows[:, 0].astype("int64")


def _source_path(split, data_dir):
    root = data_dir if data_dir is not None else os.environ.get("ZOO_DATA_DIR")
    file = FILES[split][0]
    if not root:
        raise DataNotFoundError(
            f"USPS is read from local files, and ZOO_DATA_DIR is not set: set it to a folder laid out "
            f"like the project's shared/data (holding usps/{file}), or pass data_dir=."
        )
    path = os.path.join(os.fspath(root), "usps", file)
    if not os.path.isfile(path):
        raise DataNotFoundError(f"No USPS file at {path}; expected {root} to hold usps/{file} (as shared/data does).")
    return path
