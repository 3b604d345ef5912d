"""Offline import of local dataset files into a TFDS data dir.

A machine that cannot download still has the raw files under `$ZOO_DATA_DIR`
(laid out like the project's `shared/data`: `mnist/train-images-idx3-ubyte.gz`,
...). They are imported once, with `tfds.dataset_builders.store_as_tfds_dataset`,
under the real TFDS name, version and features. From then on the plain
`tfds.load("mnist", data_dir=..., download=False)` reads them with TFDS's own
registered builder, as if TFDS had downloaded them.

TFDS writes the dataset into `<name>/incomplete.XXXXXX_<version>/` inside the data
dir and renames it to `<name>/<version>/` only once every file is written, so an
interrupted import is never read: the next call imports again.
"""

import gzip
import logging
import math
import os
import struct
import zlib

import numpy as np

from zoo.errors import DataNotFoundError

logger = logging.getLogger(__name__)

# TFDS names whose local files are MNIST-style IDX: 28x28 grey images, 10 classes.
IDX_DATASETS = ("mnist", "fashion_mnist")
IMAGE_SIZE = (28, 28)
NUM_CLASSES = 10
# split -> (images file, labels file), relative to `$ZOO_DATA_DIR/<name>/`.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def ensure_prepared(name, data_dir):
    """Makes `tfds.load(name, data_dir=data_dir, download=False)` work.

    Does nothing when TFDS already has the dataset there (downloaded by TFDS or
    imported earlier); otherwise imports the files under `$ZOO_DATA_DIR/<name>/`.

    Raises:
        DataNotFoundError: neither TFDS nor `$ZOO_DATA_DIR` has the dataset, or
            a local file is not a readable IDX file.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if builder.is_prepared():
        return
    source_dir = os.environ.get("ZOO_DATA_DIR")
    missing = None
    if source_dir:
        missing = [p for p in _local_paths(name, source_dir) if not os.path.isfile(p)]
    if not source_dir or missing:
        raise DataNotFoundError(_not_found_message(builder, source_dir, missing))
    import_idx(name, os.path.join(source_dir, name), data_dir)


def import_idx(name, source_dir, data_dir):
    """Stores the IDX files in `source_dir` as the TFDS dataset `name` in `data_dir`.

    Safe when several processes import at once: one rename wins and the
    others find the dataset prepared.
    """
    import tensorflow_datasets as tfds

    real = tfds.builder(name, data_dir=data_dir)
    splits = {}
    for split, (images_file, labels_file) in IDX_FILES.items():
        images_path = os.path.join(source_dir, images_file)
        labels_path = os.path.join(source_dir, labels_file)
        images = read_idx(images_path, ndim=3)
        labels = read_idx(labels_path, ndim=1)
        _check_pair(images_path, images, labels_path, labels)
        splits[split] = _examples(images[..., None], labels)
    logger.info("Importing %s from %s into %s (once).", name, source_dir, data_dir)
    try:
        tfds.dataset_builders.store_as_tfds_dataset(
            name=name,
            version=real.version,
            features=real.info.features,
            split_datasets=splits,
            data_dir=data_dir,
            description=real.info.description,
            homepage=real.info.homepage,
            citation=real.info.citation,
        )
    except (OSError, RuntimeError):
        # Another process finished the same import first: TFDS then refuses to
        # overwrite (RuntimeError) or our final rename fails (OSError).
        if not tfds.builder(name, data_dir=data_dir).is_prepared():
            raise


def read_idx(path, ndim):
    """Reads a gzip-compressed IDX file of unsigned bytes with `ndim` dimensions."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataNotFoundError(
            f"Cannot read {path}: {e}. Expected a gzip-compressed IDX file."
        ) from e
    header_size = 4 + 4 * ndim
    if len(data) < header_size or data[:4] != bytes([0, 0, 0x08, ndim]):
        raise DataNotFoundError(
            f"{path} is not an IDX file of unsigned bytes with {ndim} dimensions: "
            f"its header starts with {data[:4].hex()}, expected "
            f"{bytes([0, 0, 0x08, ndim]).hex()}."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    if len(data) - header_size != math.prod(shape):
        raise DataNotFoundError(
            f"{path} is truncated or padded: its header says shape {shape} "
            f"({math.prod(shape)} bytes), but it holds {len(data) - header_size} bytes."
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape)


def _check_pair(images_path, images, labels_path, labels):
    if images.shape[1:] != IMAGE_SIZE:
        raise DataNotFoundError(
            f"{images_path} holds images of size {images.shape[1:]}, expected {IMAGE_SIZE}."
        )
    if len(images) != len(labels):
        raise DataNotFoundError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; expected one label per image."
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataNotFoundError(
            f"{labels_path} holds label {labels.max()}, expected labels 0..{NUM_CLASSES - 1}."
        )


def _examples(images, labels):
    """Yields `(key, example)` pairs keyed like TFDS's own builders (by index).

    TFDS orders examples by a hash of their key, so equal keys give the same
    order as a TFDS download.
    """
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        yield index, {"image": image, "label": int(label)}


def _local_paths(name, source_dir):
    return [
        os.path.join(source_dir, name, file)
        for files in IDX_FILES.values()
        for file in files
    ]


def _not_found_message(builder, source_dir, missing):
    name = builder.name
    data_path = builder.data_path
    layout = ", ".join(f"{name}/{f}" for files in IDX_FILES.values() for f in files)
    if source_dir is None:
        local = "ZOO_DATA_DIR is not set, so there were no local files to import"
    else:
        local = f"ZOO_DATA_DIR={source_dir} lacks " + ", ".join(missing)
    return (
        f"Dataset '{name}' {builder.version} is not in the TFDS data dir "
        f"(looked for {data_path}/dataset_info.json), and {local}. To fix: set "
        f"ZOO_DATA_DIR to a folder laid out like the project's shared/data "
        f"({layout}), or run once on a machine that is online: "
        f"tfds.load('{name}', data_dir='{builder.data_dir_root}') downloads it."
    )
