"""Code metrics against known values: clustering accuracy and NMI, k-means, linear probe, retrieval."""

import keras
import numpy as np
import pytest

from zoo.metrics import (
    balanced_subset,
    cluster_accuracy,
    few_label_accuracy,
    kmeans,
    linear_probe,
    nearest_neighbours,
    normalized_mutual_info,
    retrieval_precision,
)


def blobs(n_per=100, centres=((0, 0), (5, 5), (0, 5), (5, 0)), std=0.3, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, std, (n_per, 2)) for c in centres]).astype("float32")
    return x, np.repeat(np.arange(len(centres)), n_per)


def test_a_relabelling_scores_one_and_known_confusions_score_their_value():
    labels = np.repeat(np.arange(5), 20)
    permutation = np.array([3, 0, 4, 1, 2])
    assert cluster_accuracy(labels, permutation[labels]) == 1.0
    assert normalized_mutual_info(labels, permutation[labels]) == pytest.approx(1.0)
    # One cluster for everything: the best match gets one label right.
    assert cluster_accuracy(labels, np.zeros(100, "int64")) == pytest.approx(0.2)
    assert normalized_mutual_info(labels, np.zeros(100, "int64")) == pytest.approx(0.0)
    # Hand-computed: two labels, clusters agree on 3 of 4 points.
    assert cluster_accuracy([0, 0, 1, 1], [1, 1, 1, 0]) == pytest.approx(0.75)


def test_nmi_matches_the_closed_form():
    # Two balanced labels, split into clusters {0,0,1} {1}: I = H(Y) - H(Y|C) computed by hand.
    labels, clusters = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1])
    h_y = np.log(2)
    h_c = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    h_y_given_c = 0.75 * -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3))
    expected = (h_y - h_y_given_c) / (0.5 * (h_y + h_c))
    assert normalized_mutual_info(labels, clusters) == pytest.approx(expected)


def test_nmi_matches_scikit_learn_on_random_labellings():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    labels, clusters = rng.integers(0, 10, 500), rng.integers(0, 7, 500)
    assert normalized_mutual_info(labels, clusters) == pytest.approx(
        sklearn_metrics.normalized_mutual_info_score(labels, clusters), abs=1e-9)


def test_kmeans_recovers_separated_blobs_and_its_inertia():
    x, y = blobs()
    centres, assignments, inertia = kmeans(x, 4, n_init=3, seed=0)
    assert cluster_accuracy(y, assignments) == 1.0
    assert centres.shape == (4, 2)
    recomputed = sum(np.sum((x[assignments == c] - centres[c]) ** 2) for c in range(4))
    assert inertia == pytest.approx(recomputed, rel=1e-4)
    # Each centre is the mean of its points.
    for c in range(4):
        np.testing.assert_allclose(centres[c], x[assignments == c].mean(axis=0), atol=1e-4)


def test_kmeans_is_deterministic_given_a_seed_and_checks_k():
    x, _ = blobs(seed=2)
    np.testing.assert_array_equal(kmeans(x, 4, n_init=2, seed=5)[1], kmeans(x, 4, n_init=2, seed=5)[1])
    with pytest.raises(ValueError, match="k must be between 1"):
        kmeans(x, 0)
    with pytest.raises(ValueError, match="NaN"):
        kmeans(np.full((4, 2), np.nan), 2)


def test_linear_probe_separates_linearly_separable_codes_and_not_noise():
    x, y = blobs(n_per=200)
    assert linear_probe(x[::2], y[::2], x[1::2], y[1::2], steps=400) > 0.99
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(800, 2)).astype("float32")
    assert linear_probe(noise[::2], y[::2], noise[1::2], y[1::2], steps=400) < 0.4
    with pytest.raises(ValueError, match="differ in size"):
        linear_probe(x, y, x[:, :1], y)


def test_nearest_neighbours_and_precision_at_k():
    database = np.array([[0.0], [1.0], [10.0], [11.0]], "float32")
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(nearest_neighbours(np.array([[0.2], [10.6]]), database, k=2), [[0, 1], [3, 2]])
    assert retrieval_precision(np.array([[0.2]]), [0], database, labels, k=2) == 1.0
    assert retrieval_precision(np.array([[0.2]]), [0], database, labels, k=4) == 0.5
    # Queried against itself, a point is not its own neighbour.
    np.testing.assert_array_equal(nearest_neighbours(database, database, k=1, exclude_self=True)[:, 0], [1, 0, 3, 2])
    with pytest.raises(ValueError, match="k must be between 1 and 3"):
        nearest_neighbours(database, database, k=4, exclude_self=True)


def test_balanced_subset():
    labels = np.repeat(np.arange(10), 50)
    chosen = balanced_subset(labels, 100, seed=0)
    assert np.array_equal(np.bincount(labels[chosen]), np.full(10, 10))
    assert len(np.unique(chosen)) == 100
    assert not np.array_equal(chosen, balanced_subset(labels, 100, seed=1))
    with pytest.raises(ValueError, match="between 10"):
        balanced_subset(labels, 5)


def test_few_label_fine_tuning_uses_the_pretrained_weights():
    # An "encoder" whose pretrained weights already separate the classes beats the same net from scratch.
    x, y = blobs(n_per=50, centres=((0, 0), (3, 3)), std=0.5)
    inputs = keras.Input((2,))
    encoder = keras.Model(inputs, keras.layers.Dense(1, name="code")(inputs))
    encoder.get_layer("code").set_weights([np.array([[1.0], [1.0]], "float32"), np.array([-3.0], "float32")])
    labelled = balanced_subset(y, 4, seed=0)
    pretrained = few_label_accuracy(encoder, x[labelled], y[labelled], x, y, pretrained=True, steps=150,
                                    learning_rate=1e-2)
    assert pretrained["frozen"] > 0.95 and pretrained["fine_tuned"] > 0.95
    assert set(few_label_accuracy(encoder, x[labelled], y[labelled], x, y, pretrained=False, steps=5)) == {
        "fine_tuned"}
    np.testing.assert_allclose(encoder.get_layer("code").get_weights()[1], [-3.0])  # the original is untouched
