"""Tests of zoo.data: TFDS loading with offline import, the numpy path without TensorFlow, check_images,
from_folder, augmentation."""

import gzip
import os
import struct

import numpy as np
import pytest
from PIL import Image

import zoo.data
from zoo.data import augment, datasets, tfds_import
from zoo.errors import DataNotFoundError, InputError

pytestmark = pytest.mark.backend_free

# Published MNIST test-set class counts (see shared/data/mnist/MANIFEST.md).
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path, array):
    """Writes `array` as a gzip-compressed IDX file of unsigned bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_idx_folder(root, name, n_train=20, n_test=10):
    """A `$ZOO_DATA_DIR`-style folder with tiny random data for `name`."""
    rng = np.random.default_rng(0)
    folder = root / name
    folder.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        images_file, labels_file = tfds_import.IDX_FILES[split]
        write_idx(folder / images_file, images)
        write_idx(folder / labels_file, labels)
        arrays[split] = (images, labels)
    return arrays


def as_dict(images, labels):
    """{image bytes: label}, to compare datasets whatever their order.

    `images` are uint8, or floats in [0, 255] (`zoo.data.load`'s output times 255).
    """
    images = np.rint(images).astype(np.uint8).reshape(len(labels), 28, 28)
    return {image.tobytes(): int(label) for image, label in zip(images, labels, strict=True)}


def tfds_read(name, split, data_dir):
    """Reads with plain TFDS and its registered builder, as a user would."""
    import tensorflow_datasets as tfds

    return tfds.as_numpy(
        tfds.load(name, split=split, data_dir=str(data_dir), download=False,
                  as_supervised=True, batch_size=-1)
    )


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A TFDS data dir into which a tiny fake MNIST was imported, and its arrays."""
    root = tmp_path_factory.mktemp("imported")
    arrays = make_idx_folder(root / "source", "mnist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_DATA_DIR", str(root / "source"))
        zoo.data.load("mnist", "test", data_dir=root / "tfds")
    return root / "tfds", arrays


@pytest.fixture
def source(tmp_path, monkeypatch):
    """ZOO_DATA_DIR with a tiny fake MNIST; returns its arrays."""
    arrays = make_idx_folder(tmp_path / "source", "mnist")
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "source"))
    return arrays


# -- real MNIST ---------------------------------------------------------------


def test_real_mnist_test_split(real_tfds_dir):
    images, labels = zoo.data.load("mnist", "test", data_dir=real_tfds_dir)
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.float32
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert abs(images.mean() - 0.1325) < 1e-3
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert sum(np.bincount(labels)) == 10000


def test_real_mnist_import_is_reused(real_tfds_dir, monkeypatch):
    zoo.data.load("mnist", "test[:10]", data_dir=real_tfds_dir)
    info = os.path.join(real_tfds_dir, "mnist", "3.0.1", "dataset_info.json")
    written = os.path.getmtime(info)

    def fail(*args, **kwargs):
        raise AssertionError("imported again")

    monkeypatch.setattr(tfds_import, "import_idx", fail)
    images, _ = zoo.data.load("mnist", "test[:10]", data_dir=real_tfds_dir)
    assert images.shape == (10, 28, 28, 1)
    assert os.path.getmtime(info) == written


# -- offline import, on tiny fake data -----------------------------------------


def test_import_is_read_by_the_registered_tfds_builder(imported):
    import tensorflow_datasets as tfds

    tfds_dir, arrays = imported
    builder = tfds.builder("mnist", data_dir=str(tfds_dir))
    assert type(builder) is tfds.builder_cls("mnist")
    assert builder.is_prepared() and str(builder.version) == "3.0.1"
    assert (tfds_dir / "mnist" / "3.0.1" / "dataset_info.json").is_file()
    for split, n in (("train", 20), ("test", 10)):
        tfds_images, tfds_labels = tfds_read("mnist", split, tfds_dir)
        assert tfds_images.shape == (n, 28, 28, 1) and tfds_images.dtype == np.uint8
        assert as_dict(tfds_images, tfds_labels) == as_dict(*arrays[split])
        images, labels = zoo.data.load("mnist", split, data_dir=tfds_dir)
        assert images.dtype == np.float32 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, tfds_images / np.float32(255))
        np.testing.assert_array_equal(labels, tfds_labels)


def test_second_load_does_not_import_again(imported, monkeypatch):
    tfds_dir, _ = imported
    info = tfds_dir / "mnist" / "3.0.1" / "dataset_info.json"
    written = info.stat().st_mtime_ns

    def fail(*args, **kwargs):
        raise AssertionError("imported again")

    monkeypatch.setattr(tfds_import, "import_idx", fail)
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    images, _ = zoo.data.load("mnist", "train", data_dir=tfds_dir)
    assert images.shape == (20, 28, 28, 1)
    assert info.stat().st_mtime_ns == written


def test_interrupted_import_is_never_read(source, tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    tfds_dir = tmp_path / "tfds"
    seen_mid_write = []
    examples = tfds_import._examples

    def interrupted(images, labels):
        for i, example in enumerate(examples(images, labels)):
            if i == 5:
                seen_mid_write.append(
                    (tfds.builder("mnist", data_dir=str(tfds_dir)).is_prepared(),
                     sorted(p.name for p in (tfds_dir / "mnist").iterdir()))
                )
                raise RuntimeError("simulated interruption")
            yield example

    monkeypatch.setattr(tfds_import, "_examples", interrupted)
    with pytest.raises(RuntimeError, match="simulated interruption"):
        zoo.data.load("mnist", "test", data_dir=tfds_dir)
    prepared, entries = seen_mid_write[0]
    assert not prepared  # while writing, the dataset is not visible ...
    assert entries and all(e.startswith("incomplete.") for e in entries)  # ... only a temp dir
    assert not (tfds_dir / "mnist" / "3.0.1").exists()
    assert list((tfds_dir / "mnist").iterdir()) == []  # the temp dir is gone too
    with pytest.raises(AssertionError):  # what TFDS raises for a missing dataset
        tfds_read("mnist", "test", tfds_dir)

    monkeypatch.setattr(tfds_import, "_examples", examples)
    images, labels = zoo.data.load("mnist", "test", data_dir=tfds_dir)
    assert as_dict(images * 255, labels) == as_dict(*source["test"])


def test_fashion_mnist_import_uses_tfds_features(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    arrays = make_idx_folder(tmp_path / "source", "fashion_mnist")
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "source"))
    images, labels = zoo.data.load("fashion_mnist", "test", data_dir=tmp_path / "tfds")
    assert as_dict(images * 255, labels) == as_dict(*arrays["test"])
    builder = tfds.builder("fashion_mnist", data_dir=str(tmp_path / "tfds"))
    assert builder.is_prepared() and str(builder.version) == "3.0.1"
    assert builder.info.features["label"].names[0] == "T-shirt/top"


def test_data_dir_defaults_to_zoo_tfds_dir(source, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_TFDS_DIR", str(tmp_path / "zoo_tfds"))
    images, _ = zoo.data.load("mnist", "test")
    assert images.shape == (10, 28, 28, 1)
    assert (tmp_path / "zoo_tfds" / "mnist" / "3.0.1" / "dataset_info.json").is_file()


def test_data_dir_resolution(monkeypatch):
    monkeypatch.setenv("ZOO_TFDS_DIR", "/a")
    monkeypatch.setenv("TFDS_DATA_DIR", "/b")
    assert zoo.data.datasets.tfds_data_dir("/c") == "/c"
    assert zoo.data.datasets.tfds_data_dir() == "/a"
    monkeypatch.delenv("ZOO_TFDS_DIR")
    assert zoo.data.datasets.tfds_data_dir() == "/b"
    monkeypatch.delenv("TFDS_DATA_DIR")
    assert zoo.data.datasets.tfds_data_dir() == os.path.expanduser("~/tensorflow_datasets")


def test_slicing_and_numpy_shuffle(imported):
    tfds_dir, _ = imported
    images, labels = zoo.data.load("mnist", "train", data_dir=tfds_dir)
    first, first_labels = zoo.data.load("mnist", "train[:5]", data_dir=tfds_dir)
    np.testing.assert_array_equal(first, images[:5])
    np.testing.assert_array_equal(first_labels, labels[:5])
    shuffled, shuffled_labels = zoo.data.load(
        "mnist", "train", shuffle=True, seed=1, data_dir=tfds_dir
    )
    again, _ = zoo.data.load("mnist", "train", shuffle=True, seed=1, data_dir=tfds_dir)
    np.testing.assert_array_equal(shuffled, again)
    assert not np.array_equal(shuffled_labels, labels)
    assert as_dict(shuffled * 255, shuffled_labels) == as_dict(images * 255, labels)


def test_tf_data_pipeline(imported):
    import tensorflow as tf

    tfds_dir, arrays = imported
    dataset = zoo.data.load("mnist", "train", batch_size=8, shuffle=True, seed=3, data_dir=tfds_dir)
    assert isinstance(dataset, tf.data.Dataset)
    image_spec, label_spec = dataset.element_spec
    assert image_spec.dtype == tf.float32 and image_spec.shape[1:] == (28, 28, 1)
    assert label_spec.dtype == tf.int64
    batches = [(x.numpy(), y.numpy()) for x, y in dataset]
    assert [len(y) for _, y in batches] == [8, 8, 4]
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert as_dict(images * 255, labels) == as_dict(*arrays["train"])

    again = zoo.data.load("mnist", "train", batch_size=8, shuffle=True, seed=3, data_dir=tfds_dir)
    np.testing.assert_array_equal(np.concatenate([y for _, y in again]), labels)
    in_order = zoo.data.load("mnist", "train", batch_size=8, data_dir=tfds_dir)
    _, plain_labels = zoo.data.load("mnist", "train", data_dir=tfds_dir)
    np.testing.assert_array_equal(np.concatenate([y for _, y in in_order]), plain_labels)
    assert not np.array_equal(labels, plain_labels)


# -- without TensorFlow ----------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "test", "train[:7]", "train[25%:60%]", "test[-3:]", "test+train[:2]"])
def test_without_tensorflow_the_idx_files_give_what_tfds_gives(imported, source, monkeypatch, split):
    tfds_dir, _ = imported  # the same fake MNIST as `source`: make_idx_folder is seeded
    expected = zoo.data.load("mnist", split, data_dir=tfds_dir)
    monkeypatch.setattr(datasets, "tensorflow_available", lambda: False)
    images, labels = zoo.data.load("mnist", split, data_dir=tfds_dir)
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])
    assert images.dtype == np.float32 and labels.dtype == np.int64


def test_without_tensorflow_batches_are_array_batches_and_bad_splits_are_named(source, monkeypatch):
    from zoo.data.batches import ArrayBatches

    monkeypatch.setattr(datasets, "tensorflow_available", lambda: False)
    batches = zoo.data.load("mnist", "train", batch_size=8, shuffle=True, seed=3)
    assert isinstance(batches, ArrayBatches) and len(batches) == 3
    x, y = batches.batch(2, 0)
    assert x.shape == (4, 28, 28, 1) and y.dtype == np.int64
    with pytest.raises(InputError, match="Cannot parse split 'train\\[::2\\]' without TFDS"):
        zoo.data.load("mnist", "train[::2]")
    monkeypatch.delenv("ZOO_DATA_DIR")
    with pytest.raises(DataNotFoundError, match="TensorFlow is not installed.*ZOO_DATA_DIR"):
        zoo.data.load("mnist", "test")


def test_the_data_loaders_import_no_tensorflow_where_it_is_missing(source):
    import subprocess
    import sys

    code = ("import sys; sys.modules['tensorflow'] = sys.modules['tensorflow_datasets'] = None\n"
            "import zoo.data\nfrom zoo.data import olivetti, natural, usps, multi30k, test_sets\n"
            "x, y = zoo.data.load('mnist', 'test[:4]')\nassert x.shape == (4, 28, 28, 1), x.shape\n"
            "assert 'tensorflow' not in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]\n")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]


def test_tfds_order_is_the_md5_of_the_salted_key():
    import hashlib

    order = datasets.tfds_order("test", 5)
    keys = [int(hashlib.md5(b"test" + str(i).encode()).hexdigest(), 16) for i in range(5)]
    assert list(order) == sorted(range(5), key=keys.__getitem__)


# -- augmentation -------------------------------------------------------------------


def test_shifts_move_whole_images_within_their_bound_and_flips_mirror():
    rng = np.random.default_rng(0)
    x = np.zeros((64, 9, 9, 1), np.float32)
    x[:, 4, 4] = 1.0  # one lit pixel in the middle
    shifted = augment.random_shifts(x, rng, max_shift=2)
    where = np.argwhere(shifted[..., 0] == 1.0)
    assert len(where) == 64 and np.abs(where[:, 1:] - 4).max() == 2 and shifted.sum() == 64
    np.testing.assert_array_equal(augment.random_shifts(x, np.random.default_rng(0), 2), shifted)
    edge = augment.random_shifts(np.ones((2, 5, 5, 1)), rng, max_shift=3, mode="edge")
    assert edge.min() == 1.0  # the border repeats the edge: no black frame
    lopsided = np.zeros((200, 3, 4, 1)); lopsided[:, :, 0] = 1.0
    flipped = augment.random_flips(lopsided, rng)
    mirrored = flipped[:, 0, 3, 0] == 1.0
    assert 60 < mirrored.sum() < 140 and np.all(flipped[~mirrored, :, 0] == 1.0)
    with pytest.raises(InputError, match="batch"):
        augment.random_shifts(x[0], rng)
    with pytest.raises(InputError, match="mode"):
        augment.random_shifts(x, rng, mode="wrap")


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("cifar10",), {}, r"Unknown dataset 'cifar10'.*'mnist', 'fashion_mnist'"),
        (("mnist", "validation"), {}, r"Unknown split 'validation'.*'train', 'test'"),
        (("mnist", "train+val[:5]"), {}, r"Unknown split 'val'"),
        (("mnist", "train[:abc]"), {}, r"Cannot parse split 'train\[:abc\]'"),
        (("mnist", "train"), {"batch_size": 0}, r"batch_size must be a positive int"),
    ],
)
def test_load_rejects_bad_requests(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        zoo.data.load(*args, **kwargs)


def test_missing_dataset_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError) as info:
        zoo.data.load("mnist", data_dir=tmp_path / "tfds")
    message = str(info.value)
    assert str(tmp_path / "tfds" / "mnist" / "3.0.1") in message
    assert "ZOO_DATA_DIR is not set" in message
    assert "mnist/train-images-idx3-ubyte.gz" in message and "online" in message

    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError, match="lacks .*empty/mnist/t10k-labels-idx1-ubyte.gz"):
        zoo.data.load("mnist", data_dir=tmp_path / "tfds")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"not gzip at all", "Cannot read .*train-images-idx3-ubyte.gz"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abc"), "not an IDX file .*3 dimensions"),
        (gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">3I", 5, 28, 28) + b"x"), "truncated"),
    ],
)
def test_unreadable_local_file_is_named(source, tmp_path, content, match):
    (tmp_path / "source" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(content)
    with pytest.raises(DataNotFoundError, match=match):
        zoo.data.load("mnist", data_dir=tmp_path / "tfds")
    assert not (tmp_path / "tfds" / "mnist" / "3.0.1").exists()


# -- check_images ---------------------------------------------------------------


def test_check_images_happy_paths():
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    out = zoo.data.check_images(x, shape=(28, 28), channels=1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    assert zoo.data.check_images(x[..., 0], channels=1).shape == (2, 28, 28, 1)
    assert zoo.data.check_images(x.astype(np.float64)).dtype == np.float32
    binary = zoo.data.check_images(np.ones((1, 4, 5, 3), dtype=np.int64), channels=3)
    assert binary.dtype == np.float32 and binary.shape == (1, 4, 5, 3)
    assert zoo.data.check_images([[[[0.5]]]]).shape == (1, 1, 1, 1)


def _with_bad_values():
    x = np.zeros((2, 4, 4, 1), dtype=np.float32)
    x[0, 1, 2, 0] = np.nan
    x[1, 0, 0, 0] = np.inf
    return x


@pytest.mark.parametrize(
    "x, kwargs, match",
    [
        ("abc", {}, r"must hold integers or floats; got dtype <U3"),
        ([[1.0, 2.0], [3.0]], {}, r"numpy cannot convert"),
        (np.zeros((2, 4, 4, 1), dtype=bool), {}, r"got dtype bool"),
        (np.zeros((2, 28, 28)), {}, r"4-D \(n, H, W, C\); got shape \(2, 28, 28\).*x\[..., None\]"),
        (np.zeros((2, 28, 28)), {"channels": 3}, r"4-D \(n, H, W, 3\); got shape \(2, 28, 28\)"),
        (np.zeros((28, 28)), {"channels": 1}, r"must be 4-D .*got shape \(28, 28\)"),
        (np.zeros((0, 28, 28, 1)), {}, r"empty batch \(shape \(0, 28, 28, 1\)\)"),
        (np.zeros((2, 32, 32, 1)), {"shape": (28, 28)}, r"size \(32, 32\); expected \(28, 28\)"),
        (np.zeros((2, 28, 28, 3)), {"channels": 1}, r"has 3 channels .*expected 1"),
        (_with_bad_values(), {}, r"2 NaN or infinite values \(the first at index \(0, 1, 2, 0\)\)"),
        (np.zeros((2, 4, 4, 1), dtype=np.uint8), {}, r"is uint8; expected float .*divide by 255"),
        (np.full((2, 4, 4, 1), 255.0), {}, r"up to 255.0 .*floats in \[0, 1\].*divide by 255"),
        (np.full((2, 4, 4, 1), -1.0), {}, r"values in \[-1.0, -1.0\].*expected \[0, 1\]"),
        (np.full((2, 4, 4, 1), 1000, dtype=np.int32), {}, r"in \[1000, 1000\].*expected \[0, 1\]"),
    ],
)
def test_check_images_errors(x, kwargs, match):
    with pytest.raises(InputError, match=match):
        zoo.data.check_images(x, **kwargs)


def test_check_images_names_the_argument():
    with pytest.raises(InputError, match=r"^images is an empty batch"):
        zoo.data.check_images(np.zeros((0, 2, 2, 1)), name="images")


# -- from_folder ----------------------------------------------------------------


def save(path, value=0, size=(6, 8), mode="L"):
    """Saves a constant image of `size` (height, width)."""
    Image.new(mode, (size[1], size[0]), value).save(path)


def test_from_folder_loads_images_in_name_order(tmp_path):
    save(tmp_path / "img3.TIFF", 30)
    save(tmp_path / "img1.png", 10)
    save(tmp_path / "img2.Bmp", 20)
    images = zoo.data.from_folder(tmp_path)
    assert images.shape == (3, 6, 8, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0, 0, 0], np.array([10, 20, 30]) / 255, rtol=1e-6)
    assert (images == images[:, :1, :1]).all()


def test_from_folder_converts_modes(tmp_path):
    save(tmp_path / "red.png", (255, 0, 0), mode="RGB")
    grey = zoo.data.from_folder(tmp_path, channels=1)
    assert grey.shape == (1, 6, 8, 1)
    np.testing.assert_allclose(grey[0, 0, 0, 0], 76 / 255, rtol=1e-6)  # ITU-R 601 luma of red
    rgb = zoo.data.from_folder(tmp_path, channels=3)
    assert rgb.shape == (1, 6, 8, 3)
    np.testing.assert_allclose(rgb[0, 0, 0], [1.0, 0.0, 0.0])
    with pytest.raises(InputError, match="channels must be 1 .* or 3"):
        zoo.data.from_folder(tmp_path, channels=2)


def test_from_folder_warns_about_skipped_files(tmp_path):
    save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    with pytest.warns(UserWarning, match=r"skipped 2 entries .*\.DS_Store, notes\.txt"):
        images = zoo.data.from_folder(tmp_path)
    assert images.shape == (1, 6, 8, 1)


def test_from_folder_missing_or_empty(tmp_path):
    with pytest.raises(DataNotFoundError, match="No folder at .*nowhere"):
        zoo.data.from_folder(tmp_path / "nowhere")
    save(tmp_path / "a.png")
    with pytest.raises(DataNotFoundError, match="a.png is a file; expected a folder"):
        zoo.data.from_folder(tmp_path / "a.png")
    (tmp_path / "empty").mkdir()
    match = r"No image files in .*empty \(looked for \.png, \.jpg"
    with pytest.raises(DataNotFoundError, match=match):
        zoo.data.from_folder(tmp_path / "empty")
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(DataNotFoundError, match="found 1 other entries: notes.txt"):
        zoo.data.from_folder(tmp_path / "empty")


def test_from_folder_names_an_unreadable_file(tmp_path):
    save(tmp_path / "a.png")
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(DataNotFoundError, match="Cannot read image file .*broken.jpg"):
        zoo.data.from_folder(tmp_path)


def test_from_folder_mixed_sizes_and_resize(tmp_path):
    save(tmp_path / "a.png", 100, size=(6, 8))
    save(tmp_path / "b.png", 200, size=(10, 12))
    match = r"a.png is 6x8 .*b.png is 10x12 .*image_size=\(h, w\), resize=True"
    with pytest.raises(InputError, match=match):
        zoo.data.from_folder(tmp_path)
    with pytest.raises(InputError, match=r"b.png is 10x12 .*image_size=\(6, 8\).*resize=True"):
        zoo.data.from_folder(tmp_path, image_size=(6, 8))
    with pytest.raises(InputError, match=r"resize=True needs .*image_size"):
        zoo.data.from_folder(tmp_path, resize=True)
    images = zoo.data.from_folder(tmp_path, image_size=(6, 8), resize=True)
    assert images.shape == (2, 6, 8, 1)
    np.testing.assert_allclose(images[:, 0, 0, 0], [100 / 255, 200 / 255], rtol=1e-6)
