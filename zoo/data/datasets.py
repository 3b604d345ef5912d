"""`load`: TFDS image datasets as numpy arrays or `tf.data` pipelines; numpy alone where TensorFlow is missing."""

import functools
import hashlib
import importlib.util
import os
import re

import numpy as np

from zoo.data import tfds_import
from zoo.errors import DataNotFoundError, InputError

DATASETS = tfds_import.IDX_DATASETS
SPLITS = tuple(tfds_import.IDX_FILES)


def load(name, split="train", *, batch_size=None, shuffle=False, seed=0, data_dir=None):
    """Loads a TFDS dataset as float32 NHWC images in [0, 1] and int64 labels.

    Reads through `tfds.load(..., download=False)`. When the dataset is not yet in
    the TFDS data dir, the files under `$ZOO_DATA_DIR` are imported there once
    (see `zoo.data.tfds_import`), so offline machines get the same data. Where
    TensorFlow is not installed (a JAX- or PyTorch-only install), the IDX files
    under `$ZOO_DATA_DIR` are read with numpy, in TFDS's order, so the arrays are
    the same either way.

    Args:
        name: `"mnist"` or `"fashion_mnist"`.
        split: `"train"`, `"test"`, or TFDS slicing such as `"train[:1000]"`.
        batch_size: `None` returns numpy arrays; an int returns a `tf.data.Dataset`
            of `(images, labels)` batches, prefetched.
        shuffle: shuffle the examples (the whole split, reshuffled every epoch).
        seed: seed of the shuffle, so runs are repeatable.
        data_dir: TFDS data dir. Defaults to `$ZOO_TFDS_DIR`, else TFDS's own
            default (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).

    Returns:
        `(images, labels)`: float32 `(n, 28, 28, 1)` and int64 `(n,)`, or a
        `tf.data.Dataset` of such batches when `batch_size` is set (without
        TensorFlow: a `zoo.data.batches.ArrayBatches`, which `fit` takes on every
        backend).

    Raises:
        InputError: unknown `name` or `split`, or a bad `batch_size`.
        DataNotFoundError: neither TFDS nor `$ZOO_DATA_DIR` has the dataset.
    """
    _check_request(name, split, batch_size)
    if not tensorflow_available():
        return _load_with_numpy(name, split, batch_size, shuffle, seed)
    import tensorflow as tf
    import tensorflow_datasets as tfds

    data_dir = tfds_data_dir(data_dir)
    tfds_import.ensure_prepared(name, data_dir)
    if batch_size is None:
        images, labels = _decoded(name, split, data_dir)
        if shuffle:
            order = np.random.default_rng(seed).permutation(len(labels))
            images, labels = images[order], labels[order]
        return images.astype("float32") / 255.0, labels.astype("int64")

    dataset, info = tfds.load(name, split=split, data_dir=data_dir, download=False,
                              as_supervised=True, with_info=True)
    # These datasets are small: decode the PNGs once and keep the uint8 images.
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(info.splits[split].num_examples, seed=seed)
    dataset = dataset.batch(batch_size).map(_to_unit_float, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


@functools.lru_cache(maxsize=8)
def _decoded(name, split, data_dir):
    """The uint8 images and labels of a prepared split, read once per process: TFDS decodes every PNG again on
    each load, seconds for MNIST's 60k. The arrays are read-only; `load` returns new float copies."""
    import tensorflow_datasets as tfds

    images, labels = tfds.as_numpy(tfds.load(name, split=split, data_dir=data_dir, download=False,
                                             as_supervised=True, batch_size=-1))
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def tensorflow_available():
    """Whether TensorFlow (and so TFDS) can be imported here."""
    return importlib.util.find_spec("tensorflow") is not None and importlib.util.find_spec("tensorflow_datasets") \
        is not None


def tfds_order(split, n):
    """The order in which TFDS stores examples 0..n-1 of `split` when it prepares an IDX dataset: sorted by the
    md5 of the key, salted with the split's name (tensorflow_datasets/core/hashing.py, shuffle.py)."""
    salt = hashlib.md5(split.encode("utf-8"))
    keys = []
    for index in range(n):
        digest = salt.copy()
        digest.update(str(index).encode("utf-8"))
        keys.append(int(digest.hexdigest(), 16))
    return np.array(sorted(range(n), key=keys.__getitem__))


def _load_with_numpy(name, split, batch_size, shuffle, seed):
    """`load` without TensorFlow: the IDX files of `$ZOO_DATA_DIR/<name>/`, in TFDS's order, sliced like TFDS."""
    source_dir = os.environ.get("ZOO_DATA_DIR")
    if not source_dir:
        raise DataNotFoundError(f"TensorFlow is not installed, so '{name}' is read from its IDX files under "
                                "ZOO_DATA_DIR, which is not set. Set it to a folder laid out like the project's "
                                "shared/data (mnist/train-images-idx3-ubyte.gz, ...).")
    images, labels = [], []
    for part in split.split("+"):
        base, start, stop = _parse_slice(part.strip())
        image_file, label_file = (os.path.join(source_dir, name, f) for f in tfds_import.IDX_FILES[base])
        x = tfds_import.read_idx(image_file, ndim=3)
        y = tfds_import.read_idx(label_file, ndim=1)
        tfds_import._check_pair(image_file, x, label_file, y)
        order = tfds_order(base, len(y))
        lo, hi = _bounds(start, stop, len(y))
        images.append(x[order[lo:hi]])
        labels.append(y[order[lo:hi]])
    images, labels = np.concatenate(images)[..., None], np.concatenate(labels)
    if shuffle and batch_size is None:
        order = np.random.default_rng(seed).permutation(len(labels))
        images, labels = images[order], labels[order]
    images, labels = images.astype("float32") / 255.0, labels.astype("int64")
    if batch_size is None:
        return images, labels
    from zoo.data.batches import ArrayBatches

    return ArrayBatches(images, labels, batch_size=batch_size, seed=seed, shuffle=shuffle)


_SLICE = re.compile(r"^(\w+)(?:\[\s*(-?\d+%?)?\s*:\s*(-?\d+%?)?\s*\])?$")


def _parse_slice(spec):
    """'train', 'train[:1000]', 'test[50%:]' -> (split, start, stop), each bound an int, a percent string or None."""
    match = _SLICE.match(spec)
    if not match:
        raise InputError(f"Cannot parse split {spec!r} without TFDS: expected e.g. 'train', 'train[:1000]' or "
                         "'test[50%:]'.")
    return match.group(1), match.group(2), match.group(3)


def _bounds(start, stop, n):
    """Slice bounds as TFDS computes them: percents of n rounded to the closest example, negatives from the end."""
    def bound(value, default):
        if value is None:
            return default
        if value.endswith("%"):
            return int(round(n * int(value[:-1]) / 100))  # TFDS' default rounding: "closest"
        return int(value)

    return slice(bound(start, 0), bound(stop, n)).indices(n)[:2]


def tfds_data_dir(data_dir=None):
    """The TFDS data dir: `data_dir`, else `$ZOO_TFDS_DIR`, else TFDS's default."""
    if data_dir is not None:
        return os.fspath(data_dir)
    return (
        os.environ.get("ZOO_TFDS_DIR")
        or os.environ.get("TFDS_DATA_DIR")
        or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")
    )


def _to_unit_float(images, labels):
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 255.0, labels


def _check_request(name, split, batch_size):
    if name not in DATASETS:
        raise InputError(f"Unknown dataset {name!r}; expected one of {list(DATASETS)}.")
    if not isinstance(split, str):
        raise InputError(f"split must be a string such as 'train', got {split!r}.")
    names = [part.split("[", 1)[0].strip() for part in split.split("+")]
    unknown = [n for n in names if n not in SPLITS]
    if unknown:
        raise InputError(
            f"Unknown split {unknown[0]!r} in {split!r} for {name!r}; expected one of "
            f"{list(SPLITS)}, optionally sliced like 'train[:1000]' or 'test[50%:]'."
        )
    is_int = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
    if batch_size is not None and not (is_int and batch_size >= 1):
        raise InputError(f"batch_size must be a positive int or None, got {batch_size!r}.")
    if not tensorflow_available():
        for part in split.split("+"):
            _parse_slice(part.strip())
        return
    import tensorflow_datasets as tfds

    try:
        tfds.core.ReadInstruction.from_spec(split)
    except ValueError as e:
        raise InputError(
            f"Cannot parse split {split!r}: {e}. Expected e.g. 'train', "
            f"'train[:1000]', 'test[50%:]' or 'train+test'."
        ) from e
