"""Shared fixtures. Each Keras backend runs this suite in its own process (tools/run_tests.py).

Tests marked `backend_free` do not depend on the Keras backend; the runner runs them once. With
$ZOO_TEST_PART set to "backend_free" only those are collected, with "backend" only the others; unset (a
plain `pytest`), everything runs. A test marked `one_backend("torch")` (a recipe's quick run, whose backend
code the unit tests cover on every backend) runs in that backend's run only (`one_backend("jax", "torch")`: in
those two); the quick runs, and the cases of a check that the others repeat on every backend, are spread over
the three backends (`spread`).
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    part = os.environ.get("ZOO_TEST_PART")
    if part not in ("backend_free", "backend"):
        return
    backend = os.environ.get("KERAS_BACKEND")

    def wanted(item):
        if (item.get_closest_marker("backend_free") is not None) != (part == "backend_free"):
            return False
        one = item.get_closest_marker("one_backend")
        return one is None or part == "backend_free" or backend in one.args

    keep = [item for item in items if wanted(item)]
    dropped = [item for item in items if not wanted(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


BACKENDS = ("tensorflow", "jax", "torch")


def spread(cases, start=0):
    """Parametrize cases, each run on one backend in turn (`one_backend`), for a check whose backend code other
    tests cover on every backend: each backend runs a third of them."""
    return [pytest.param(*(case if isinstance(case, tuple) else (case,)),
                         marks=pytest.mark.one_backend(BACKENDS[(start + i) % len(BACKENDS)]))
            for i, case in enumerate(cases)]


def load_recipe(name):
    """The module `recipes/<name>.py`, imported from its file (recipes/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_data_dir(relative_file, what):
    """`$ZOO_DATA_DIR` when it holds `relative_file`; skips otherwise, except on CI, where missing data fails."""
    source_dir = os.environ.get("ZOO_DATA_DIR")
    if not source_dir or not os.path.isfile(os.path.join(source_dir, relative_file)):
        message = f"{what} needs ZOO_DATA_DIR set to a folder laid out like shared/data (got {source_dir!r})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return source_dir


def missing_data(what, error):
    """Skip a test whose data this machine lacks; on CI, where shared/data is always there, fail it."""
    message = f"{what} not found under ZOO_DATA_DIR: {error}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def natural_image_files(*sets):
    """The files of the natural image sets `sets` (zoo.data.natural), or the test is skipped (failed on CI)."""
    from zoo.data import natural
    from zoo.errors import DataNotFoundError

    try:
        return [natural.image_files(name) for name in sets]
    except DataNotFoundError as e:
        missing_data("natural images", e)


@pytest.fixture(scope="session", autouse=True)
def logs_dir(tmp_path_factory):
    """What recipes write besides results (--quick outputs, training states) goes to a folder of this session."""
    folder = tmp_path_factory.mktemp("logs")
    os.environ["ZOO_LOGS_DIR"] = str(folder)
    yield folder
    os.environ.pop("ZOO_LOGS_DIR", None)


@pytest.fixture(scope="session")
def real_tfds_dir():
    """TFDS data dir for real MNIST, kept across runs so it is imported only once."""
    shared_data_dir(os.path.join("mnist", "t10k-images-idx3-ubyte.gz"), "real MNIST")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("ZOO_TFDS_DIR") or os.path.join(cache, "keras-zoo", "tensorflow_datasets")


@pytest.fixture(scope="session")
def mnist_test(real_tfds_dir):
    """Real MNIST test images (10000, 28, 28, 1) float32 in [0, 1] and labels."""
    import zoo.data

    return zoo.data.load("mnist", "test", data_dir=real_tfds_dir)


@pytest.fixture
def digits(mnist_test):
    """512 real digits: enough for a VAE to make progress in a few steps."""
    return mnist_test[0][:512]


def max_abs_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b, strict=True))
