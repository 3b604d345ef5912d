"""Sample-quality and mode-coverage metrics on sets whose answer is known; the digit classifier's API."""

import math

import keras
import numpy as np
import pytest

from zoo.data.toy import eight_gaussians, ring_centres
from zoo.errors import InputError
from zoo.metrics import (
    channel_labels,
    frechet_distance,
    high_quality_share,
    kl_to_uniform,
    mode_histogram,
    modes_covered,
    nearest_modes,
    precision_recall,
    ring_modes_covered,
)
from zoo.models.classifier import DigitClassifier, digit_classifier


def features(n=500, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d))  # correlated, full rank


# Frechet distance ----------------------------------------------------------------------------


@pytest.mark.backend_free
def test_frechet_distance_of_a_set_to_itself_is_zero():
    a = features()
    assert abs(frechet_distance(a, a)) < 1e-8


@pytest.mark.backend_free
def test_a_mean_shift_by_v_costs_v_squared():
    a = features()
    v = np.array([1.0, -2.0, 0.5, 3.0])
    assert frechet_distance(a, a + v) == pytest.approx(np.sum(v**2), rel=1e-9)


@pytest.mark.backend_free
def test_one_dimensional_gaussians():
    """d^2(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2, on sets with exactly these moments."""
    z = np.random.default_rng(1).standard_normal(1000)
    z = (z - z.mean()) / z.std(ddof=1)
    a, b = (1.0 + 2.0 * z)[:, None], (-0.5 + 0.5 * z[::-1])[:, None]
    assert frechet_distance(a, b) == pytest.approx(1.5**2 + 1.5**2, rel=1e-9)


@pytest.mark.backend_free
def test_frechet_distance_agrees_with_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    a, b = features(seed=0), features(seed=1) + 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    reference = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                 - 2.0 * np.trace(linalg.sqrtm(cov_a @ cov_b).real))
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-7)


@pytest.mark.backend_free
def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


# Precision and recall --------------------------------------------------------------------------


@pytest.mark.backend_free
def test_identical_sets_have_full_precision_and_recall():
    a = features(200)
    assert precision_recall(a, a.copy()) == (1.0, 1.0)


@pytest.mark.backend_free
def test_far_apart_sets_have_none():
    a = features(200)
    assert precision_recall(a, a + 1000.0) == (0.0, 0.0)


@pytest.mark.backend_free
def test_precision_and_recall_on_a_line():
    """Real points 0..9 with k = 1 have radius 1. Fake {0.5, 20}: 0.5 is inside, 20 is not -> precision 1/2.
    Each fake's radius is 19.5 (the other fake), so the ball around 0.5 holds all real points -> recall 1."""
    real = np.arange(10.0)[:, None]
    fake = np.array([[0.5], [20.0]])
    assert precision_recall(real, fake, k=1) == (0.5, 1.0)
    # Half the generated samples collapsed far away: precision halves, recall stays.
    copies = np.concatenate([real, real + 100.0])
    assert precision_recall(real, copies, k=1) == (0.5, 1.0)


@pytest.mark.backend_free
def test_precision_recall_batches_give_the_same_answer():
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((120, 3)), rng.standard_normal((90, 3)) + 0.5
    assert precision_recall(real, fake, batch_size=7) == precision_recall(real, fake, batch_size=1000)


@pytest.mark.backend_free
def test_precision_recall_needs_k_below_the_set_sizes():
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# Mode counting ---------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_mode_histogram_reads_channel_labels_as_a_number():
    labels = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0], [9, 9, 9]])
    counts = mode_histogram(labels)
    assert counts.shape == (1000,)
    assert (counts[123], counts[0], counts[999], counts.sum()) == (2, 1, 1, 4)
    assert modes_covered(counts) == 3
    assert modes_covered(counts, min_count=2) == 1
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        mode_histogram(np.array([[1, 10, 3]]))


@pytest.mark.backend_free
def test_uniform_histogram_covers_every_mode_with_zero_kl():
    labels = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)] * 26)
    counts = mode_histogram(labels)
    assert modes_covered(counts) == 1000
    assert kl_to_uniform(counts) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.backend_free
def test_kl_of_collapsed_histograms():
    one_mode = np.zeros(1000)
    one_mode[7] = 26000
    assert kl_to_uniform(one_mode) == pytest.approx(math.log(1000))
    half = np.zeros(1000)
    half[:500] = 52  # p = 1/500 on half the modes: KL = log(1000 / 500)
    assert kl_to_uniform(half) == pytest.approx(math.log(2))
    assert modes_covered(half) == 500


@pytest.mark.backend_free
def test_channel_labels_classify_each_channel():
    images = np.zeros((2, 4, 4, 3), "float32")
    images[0, ..., 1] = 1.0
    images[1, ..., 2] = 1.0
    labels = channel_labels(lambda x: x.reshape(len(x), -1).sum(axis=1).astype(int) // 16, images)
    np.testing.assert_array_equal(labels, [[0, 1, 0], [0, 0, 1]])


@pytest.mark.backend_free
def test_ring_modes_and_high_quality_share():
    centres = ring_centres(8, radius=2.0)
    points, modes = eight_gaussians(400, std=0.02, seed=0)
    assert ring_modes_covered(points, centres, threshold=3 * 0.02) == 8
    assert high_quality_share(points, centres, threshold=3 * 0.02) > 0.98
    np.testing.assert_array_equal(nearest_modes(points, centres, threshold=10.0), modes)

    # A collapsed generator: everything at two modes, a quarter of it between them.
    collapsed = np.concatenate([np.repeat(centres[[0, 3]], 30, axis=0), np.zeros((20, 2))])
    assert ring_modes_covered(collapsed, centres, threshold=0.06) == 2
    assert high_quality_share(collapsed, centres, threshold=0.06) == pytest.approx(60 / 80)
    assert ring_modes_covered(collapsed, centres, threshold=0.06, min_count=31) == 0


# The digit classifier ---------------------------------------------------------------------------


def test_digit_classifier_trains_and_gives_features_and_labels(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(32, 28, 28, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32")
    model = digit_classifier(n_classes=2, filters=(4, 8), features_dim=16)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert max(float(np.abs(b - w.numpy()).max()) for b, w in zip(before, model.trainable_weights, strict=True)) > 0

    assert model.features(x).shape == (32, 16)
    labels = model.predict_labels(x)
    assert labels.shape == (32,) and set(labels) <= {0, 1}
    with pytest.raises(InputError, match="channels"):
        model.features(np.zeros((2, 28, 28, 3), "float32"))

    path = tmp_path / "classifier.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, DigitClassifier) and loaded.features_dim == 16
    np.testing.assert_allclose(loaded.features(x), model.features(x), atol=1e-5)


def test_stacked_mnist_labels_come_from_the_grey_classifier():
    classifier = digit_classifier(filters=(4, 8), features_dim=8)
    stacked = np.random.default_rng(1).uniform(size=(6, 28, 28, 3)).astype("float32")
    labels = channel_labels(classifier.predict_labels, stacked)
    assert labels.shape == (6, 3)
    np.testing.assert_array_equal(labels[:, 2], classifier.predict_labels(stacked[..., 2:]))
    assert mode_histogram(labels).sum() == 6


# Stacked MNIST data ---------------------------------------------------------------------------


@pytest.mark.backend_free
def test_stacked_digits_put_one_digit_per_channel_and_name_their_mode():
    from zoo.data.stacked import StackedBatches, stack_digits, stacked_indices, stacked_labels

    images = np.arange(5, dtype="float32")[:, None, None, None] * np.ones((5, 2, 2, 1), "float32")
    labels = np.array([9, 8, 7, 6, 5])
    indices = np.array([[0, 1, 2], [4, 4, 3]])
    stacked = stack_digits(images, indices)
    assert stacked.shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(stacked[:, 0, 0, :], [[0, 1, 2], [4, 4, 3]])
    np.testing.assert_array_equal(stacked_labels(labels, indices), [[9, 8, 7], [5, 5, 6]])
    np.testing.assert_array_equal(mode_histogram(stacked_labels(labels, indices)).nonzero()[0], [556, 987])
    a, b = stacked_indices(5, 100, seed=3), stacked_indices(5, 100, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (100, 3) and a.min() >= 0 and a.max() < 5 and len(np.unique(a)) == 5
    batches = StackedBatches(images, a, batch_size=32, seed=0)
    assert len(batches) == 3 and batches[0].shape == (32, 2, 2, 3)
    first = batches[0].copy()
    batches.on_epoch_end()
    assert not np.array_equal(first, batches[0])  # a fresh order each epoch


@pytest.mark.backend_free
def test_stacked_data_refuse_bad_input_clearly():
    from zoo.data.stacked import StackedBatches, stack_digits, stacked_indices

    with pytest.raises(InputError, match="one-channel"):
        stack_digits(np.zeros((4, 2, 2, 3)), np.zeros((1, 3), int))
    with pytest.raises(InputError, match="integers"):
        stack_digits(np.zeros((4, 2, 2, 1)), np.zeros((1, 3)))
    with pytest.raises(InputError, match=">= 1"):
        stacked_indices(0, 10)
    with pytest.raises(InputError, match="batch_size"):
        StackedBatches(np.zeros((4, 2, 2, 1)), np.zeros((3, 3), int), batch_size=4)
