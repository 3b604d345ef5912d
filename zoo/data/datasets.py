"""`load`: TFDS image datasets as numpy arrays or `tf.data` pipelines."""

import os

import numpy as np

from zoo.data import tfds_import
from zoo.errors import InputError

DATASETS = tfds_import.IDX_DATASETS
SPLITS = tuple(tfds_import.IDX_FILES)


def load(name, split="train", *, batch_size=None, shuffle=False, seed=0, data_dir=None):
    """Loads a TFDS dataset as float32 NHWC images in [0, 1] and int64 labels.

    Reads through `tfds.load(..., download=False)`. When the dataset is not yet in
    the TFDS data dir, the files under `$ZOO_DATA_DIR` are imported there once
    (see `zoo.data.tfds_import`), so offline machines get the same data.

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
        `tf.data.Dataset` of such batches when `batch_size` is set.

    Raises:
        InputError: unknown `name` or `split`, or a bad `batch_size`.
        DataNotFoundError: neither TFDS nor `$ZOO_DATA_DIR` has the dataset.
    """
    _check_request(name, split, batch_size)
    import tensorflow as tf
    import tensorflow_datasets as tfds

    data_dir = tfds_data_dir(data_dir)
    tfds_import.ensure_prepared(name, data_dir)
    if batch_size is None:
        images, labels = tfds.as_numpy(
            tfds.load(name, split=split, data_dir=data_dir, download=False,
                      as_supervised=True, batch_size=-1)
        )
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
    import tensorflow_datasets as tfds

    names = [part.split("[", 1)[0].strip() for part in split.split("+")]
    unknown = [n for n in names if n not in SPLITS]
    if unknown:
        raise InputError(
            f"Unknown split {unknown[0]!r} in {split!r} for {name!r}; expected one of "
            f"{list(SPLITS)}, optionally sliced like 'train[:1000]' or 'test[50%:]'."
        )
    try:
        tfds.core.ReadInstruction.from_spec(split)
    except ValueError as e:
        raise InputError(
            f"Cannot parse split {split!r}: {e}. Expected e.g. 'train', "
            f"'train[:1000]', 'test[50%:]' or 'train+test'."
        ) from e
    is_int = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
    if batch_size is not None and not (is_int and batch_size >= 1):
        raise InputError(f"batch_size must be a positive int or None, got {batch_size!r}.")
