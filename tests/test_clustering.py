"""DEC / IDEC and VaDE (zoo/models/clustering.py) on this backend: the Student-t assignment and the target by hand,
a step of each loss, DEC on separated blobs, resumable refreshes, VaDE's ELBO (Eq. 17) by hand, checkpoints,
bad inputs. Tiny: 2-D blobs with an exact identity encoder, 8x8 images with a tiny conv autoencoder."""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.metrics.codes import cluster_accuracy
from zoo.models.clustering import (
    DEC,
    GaussianMixture,
    StackedAutoencoder,
    TargetBatches,
    VaDE,
    student_t_assignments,
    target_distribution,
)
from zoo.resume import TrainingState, TrainingStopped

from conftest import load_recipe

CENTRES = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], "float32")


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def blobs(n=90, seed=0):
    """Three well separated 2-D blobs (std 0.5, centres 6 apart) and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    return (CENTRES[labels] + 0.5 * rng.standard_normal((n, 2))).astype("float32"), labels.astype("int64")


def identity_network(dim=2, name="encoder"):
    """Two Dense layers computing exactly x = relu(x) - relu(-x): an encoder (or decoder) that starts as the identity
    and still trains."""
    inputs = keras.Input((dim,))
    eye = np.eye(dim, dtype="float32")
    hidden = keras.layers.Dense(2 * dim, activation="relu", name="hidden")
    output = keras.layers.Dense(dim, name="code")
    model = keras.Model(inputs, output(hidden(inputs)), name=name)
    hidden.set_weights([np.concatenate([eye, -eye], axis=1), np.zeros(2 * dim, "float32")])
    output.set_weights([np.concatenate([eye, -eye], axis=0), np.zeros(dim, "float32")])
    return model


def blob_dec(idec=False, rate=1e-2, seed=0, n_clusters=3):
    keras.utils.set_random_seed(seed)
    decoder = identity_network(name="decoder") if idec else None
    model = DEC(identity_network(), decoder, n_clusters=n_clusters, clustering_weight=0.1 if idec else 1.0,
                reconstruction_weight=1.0 if idec else 0.0, decoder_output="linear")
    model.compile(optimizer=keras.optimizers.Adam(rate))
    return model


def images(n=96, seed=0):
    """8x8 grey images of three kinds (top rows, left columns, the diagonal lit) with noise, and their kind."""
    rng = np.random.default_rng(seed)
    kinds = np.zeros((3, 8, 8), "float32")
    kinds[0, :3] = 1.0
    kinds[1, :, :3] = 1.0
    kinds[2][np.eye(8, dtype=bool)] = 1.0
    labels = np.arange(n) % 3
    x = np.clip(0.8 * kinds[labels] + 0.1 + 0.1 * rng.standard_normal((n, 8, 8)), 0.0, 1.0)
    return x[..., None].astype("float32"), labels.astype("int64")


def dense_autoencoder(seed=0):
    """8x8 images -> 2 numbers -> Bernoulli logits, in Dense layers (a quicker compilation than convolutions)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    code = keras.layers.Dense(2, name="code")(keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(inputs)))
    codes = keras.Input((2,))
    logits = keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64)(keras.layers.Dense(16, activation="relu")(codes)))
    return SimpleNamespace(encoder=keras.Model(inputs, code), decoder=keras.Model(codes, logits))


def copies(variables):
    return [np.array(to_numpy(v)) for v in variables]


def moved(before, variables):
    return max(float(np.max(np.abs(b - to_numpy(v)))) for b, v in zip(before, variables, strict=True))


# DEC / IDEC --------------------------------------------------------------------------------------------------

def test_soft_assignment_matches_a_hand_computation():
    z = np.array([[0.0, 0.0], [1.0, 1.0]], "float32")
    centres = np.array([[0.0, 0.0], [2.0, 0.0]], "float32")
    # alpha = 1: q_ij proportional to 1 / (1 + d^2); squared distances (0, 4) and (2, 2)
    expected = np.array([[1.0, 0.2], [1 / 3, 1 / 3]])
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(to_numpy(student_t_assignments(z, centres)), expected, atol=1e-6)
    # alpha = 2: (1 + d^2 / 2)^(-3/2)
    kernel = (1.0 + np.array([[0.0, 4.0], [2.0, 2.0]]) / 2.0) ** -1.5
    np.testing.assert_allclose(to_numpy(student_t_assignments(z, centres, alpha=2.0)),
                               kernel / kernel.sum(axis=1, keepdims=True), atol=1e-6)
    model = blob_dec(n_clusters=2)
    model.centres.assign(centres)
    np.testing.assert_allclose(model.soft_assignments(z), expected, atol=1e-6)  # through the identity encoder
    np.testing.assert_array_equal(model.predict_clusters(z), [0, 0])


@pytest.mark.backend_free
def test_the_target_distribution_sums_to_one_and_is_sharper():
    q = np.random.default_rng(0).dirichlet(np.ones(4), size=500)
    p = target_distribution(q)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)

    def entropy(a):
        return -np.sum(a * np.log(a), axis=1)

    assert entropy(p).mean() < entropy(q).mean() - 0.2
    assert p.max(axis=1).mean() > q.max(axis=1).mean() + 0.1
    # Equal cluster frequencies: p_ij is q_ij^2 renormalised
    balanced = np.array([[0.6, 0.4], [0.4, 0.6]])
    np.testing.assert_allclose(target_distribution(balanced), [[0.36 / 0.52, 0.16 / 0.52], [0.16 / 0.52, 0.36 / 0.52]],
                               atol=1e-6)


@pytest.mark.backend_free
def test_target_batches_are_a_pure_function_of_interval_and_index():
    x = np.arange(10, dtype="float32")[:, None]
    p = np.tile(np.arange(10, dtype="float32")[:, None], (1, 3))
    batches = TargetBatches(x, steps=3, batch_size=4, seed=1)
    batches.set_targets(p, epoch=2)
    xb, pb = batches.batch(1, 2)
    assert xb.shape == (4, 1) and pb.shape == (4, 3)
    np.testing.assert_array_equal(pb[:, 0], xb[:, 0])  # each row with its own target
    again = TargetBatches(x, steps=3, batch_size=4, seed=1)
    again.set_targets(p, epoch=2)
    np.testing.assert_array_equal(again.batch(1, 2)[0], xb)
    # Steps 0..4 of 4 rows are 20 rows: two whole passes, every example twice
    rows = np.concatenate([batches.rows(i % 3, i // 3) for i in range(5)])
    np.testing.assert_array_equal(np.sort(rows), np.repeat(np.arange(10), 2))
    assert not np.array_equal(rows[:10], rows[10:])  # each pass in a fresh order
    with pytest.raises(RuntimeError, match="set_targets"):
        batches.batch(0, 3)  # another interval than the targets'
    with pytest.raises(InputError, match=r"\(10, n_clusters\)"):
        batches.set_targets(p[:5], epoch=0)


def test_an_idec_step_moves_the_centres_encoder_and_decoder_and_logs_the_terms():
    model = blob_dec(idec=True)  # DEC's steps: in the next test
    x, _ = blobs()
    model.init_clusters(x, n_init=2)
    model.centres.assign(to_numpy(model.centres) + 0.5)  # off the k-means centres, so the KL pulls
    targets = model.refresh_targets(x)
    assert targets.changed is None and targets.labels.shape == (90,)
    terms = model.compute_terms(keras.ops.convert_to_tensor(x), targets.targets)
    q = model.soft_assignments(x)
    kl = np.mean(np.sum(targets.targets * np.log(targets.targets / q), axis=1))
    np.testing.assert_allclose(float(to_numpy(terms["clustering"])), kl, rtol=1e-4)
    assert float(to_numpy(terms["reconstruction"])) == pytest.approx(0.0, abs=1e-10)  # identity networks: exact
    np.testing.assert_allclose(float(to_numpy(terms["loss"])), 0.1 * kl, rtol=1e-4)

    centres, encoder = copies([model.centres]), copies(model.encoder.trainable_weights)
    decoder = copies(model.decoder.trainable_weights)
    history = model.fit(x, targets.targets, batch_size=90, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "clustering", "reconstruction"}
    assert moved(centres, [model.centres]) > 1e-3
    assert moved(encoder, model.encoder.trainable_weights) > 1e-3
    # The decoder moves once the encoder has: its gradient is zero while the reconstruction is exact.
    model.fit(x, targets.targets, batch_size=90, epochs=1, verbose=0)
    assert moved(decoder, model.decoder.trainable_weights) > 1e-5


def test_dec_reaches_accuracy_one_on_separated_blobs_and_stops_when_labels_settle():
    x, labels = blobs()
    model = blob_dec()
    assert cluster_accuracy(labels, model.init_clusters(x, n_init=3)) == 1.0
    centres, encoder = copies([model.centres]), copies(model.encoder.trainable_weights)
    seen = []
    result = model.fit_clusters(x, max_steps=60, update_interval=10, batch_size=32, n_init=3,
                                callback=lambda interval, targets: seen.append(interval))
    assert cluster_accuracy(labels, model.predict_clusters(x)) == 1.0
    assert cluster_accuracy(labels, result["labels"]) == 1.0
    assert result["converged"] and result["intervals"] == 1 and result["steps"] == 10  # no label changed
    assert result["changed"] == [0.0, 0.0] and seen == [0, 1]
    assert moved(centres, [model.centres]) > 1e-3 and moved(encoder, model.encoder.trainable_weights) > 1e-3
    q = model.soft_assignments(x)
    assert q.shape == (90, 3) and np.allclose(q.sum(axis=1), 1.0, atol=1e-5)


def test_a_stopped_and_resumed_training_ends_on_the_weights_of_an_uninterrupted_one(tmp_path):
    """One model throughout (on JAX each new model's step is a fresh compilation): a state saved before training
    puts back its initial weights and optimizer between the runs."""
    x, _ = blobs()
    settings = dict(max_steps=30, update_interval=10, batch_size=16, tol=0.0, n_init=2)
    model = blob_dec(idec=True)
    start = TrainingState(tmp_path / "start.npz", identity={"test": "start"})
    start.save(model)
    whole = model.fit_clusters(x, **settings)
    assert whole["intervals"] == 3 and not whole["converged"] and len(whole["changed"]) == 4
    trained = model.get_weights()

    start.restore(model)
    state = TrainingState(tmp_path / "state.npz", identity={"test": "dec"})
    with pytest.raises(TrainingStopped):
        model.fit_clusters(x, state=state, stop_after_steps=15, **settings)  # in the second interval
    saved = TrainingState(tmp_path / "state.npz", identity={"test": "dec"}).peek()
    assert saved["position"] == {"epoch": 1, "batch": 5} and saved["record"]["dec"]["interval"] == 1

    start.restore(model)  # as a new process would begin: every weight and the P come from the state
    state = TrainingState(tmp_path / "state.npz", identity={"test": "dec"}).restore(model)
    resumed = model.fit_clusters(x, state=state, **settings)
    assert resumed["changed"] == pytest.approx(whole["changed"]) and resumed["intervals"] == 3
    np.testing.assert_array_equal(resumed["labels"], whole["labels"])
    for a, b in zip(trained, model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert model.fit_clusters(x, state=state, **settings)["intervals"] == 3  # finished: nothing more to do


def test_idec_from_an_autoencoder_survives_a_checkpoint(tmp_path):
    ae = dense_autoencoder()
    x, _ = images(48)
    model = DEC.from_autoencoder(ae, n_clusters=3)
    assert model.clustering_weight == 0.1 and model.reconstruction_weight == 1.0
    assert model.encoder is not ae.encoder  # copies: training them leaves the autoencoder as it was
    np.testing.assert_allclose(model.encode(x), to_numpy(ae.encoder(x)), atol=1e-6)
    model.init_clusters(x, n_init=2)
    path = save_checkpoint(model, tmp_path / "idec_tiny", {"name": "idec_tiny", "description": "A tiny IDEC."})
    loaded = zoo.load(path)
    assert type(loaded) is DEC and loaded.compiled and loaded.decoder is not None and loaded.data_shape == (8, 8, 1)
    settings = [{k: v for k, v in m.get_config().items() if k not in ("encoder", "decoder")} for m in (loaded, model)]
    assert json.dumps(settings[0], sort_keys=True) == json.dumps(settings[1], sort_keys=True)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.soft_assignments(x), model.soft_assignments(x), atol=1e-6)
    assert DEC.from_autoencoder(ae, n_clusters=3, method="dec").decoder is None


def test_the_papers_stacked_autoencoder_trains_feeds_idec_and_vade_and_survives_a_checkpoint(tmp_path):
    x = np.random.default_rng(0).uniform(size=(12, 8, 8, 1)).astype("float32")
    for output in ("linear", "logits"):
        keras.utils.set_random_seed(0)
        ae = StackedAutoencoder((8, 8, 1), dims=(16, 3), decoder_output=output)
        assert [layer.units for layer in ae.encoder.layers if hasattr(layer, "units")] == [16, 3]
        assert [layer.units for layer in ae.decoder.layers if hasattr(layer, "units")] == [16, 64]
        out = to_numpy(ae(x))
        loss = float(to_numpy(ae.compute_terms(keras.ops.convert_to_tensor(x))["loss"]))
        if output == "linear":  # the mean squared error (IDEC's pretraining)
            assert loss == pytest.approx(np.mean((x - out) ** 2), rel=1e-4)
        else:  # the Bernoulli cross-entropy per image (VaDE's)
            by_hand = -np.mean(np.sum(x * out - np.logaddexp(0.0, out), axis=(1, 2, 3)))
            assert loss == pytest.approx(by_hand, rel=1e-4)
            assert 0 <= ae.reconstruct(x).min() and ae.reconstruct(x).max() <= 1
        ae.compile(optimizer=keras.optimizers.Adam(1e-2))
        history = ae.fit(x, batch_size=6, epochs=3, verbose=0).history["loss"]
        assert history[-1] < history[0]
        path = save_checkpoint(ae, tmp_path / f"sae_{output}", {"name": f"sae_{output}", "description": "tiny"})
        loaded = zoo.load(path)
        assert type(loaded) is StackedAutoencoder and loaded.decoder_output == output and loaded.dims == (16, 3)
        np.testing.assert_allclose(loaded.encode(x), ae.encode(x), atol=1e-6)
    idec = DEC.from_autoencoder(ae, n_clusters=2, decoder_output="logits")
    np.testing.assert_allclose(idec.encode(x), ae.encode(x), atol=1e-6)
    vade = VaDE.from_autoencoder(ae, n_clusters=2)
    np.testing.assert_allclose(vade.encode(x)[0], ae.encode(x), atol=1e-6)
    with pytest.raises(ValueError, match="decoder_output must be one of"):
        StackedAutoencoder(decoder_output="sigmoid")
    with pytest.raises(InputError, match="8, 8"):
        ae.encode(np.zeros((2, 28, 28, 1), "float32"))


def test_bad_inputs_get_clear_errors():
    with pytest.raises(InputError, match="n_clusters must be an int >= 1"):
        DEC(identity_network(), n_clusters=0)
    with pytest.raises(ValueError, match="reconstruction_weight"):
        DEC(identity_network(), identity_network(name="decoder"), n_clusters=2)  # a decoder but no weight on it
    model = blob_dec()
    x, _ = blobs()
    with pytest.raises(InputError, match="cannot split 2 samples into 3 clusters"):
        model.init_clusters(x[:2])
    with pytest.raises(InputError, match="cannot split 2 samples into 3 clusters"):
        model.fit_clusters(x[:2])
    with pytest.raises(InputError, match=r"the encoder takes \(n, 2\)"):
        model.predict_clusters(np.zeros((4, 3), "float32"))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        model.soft_assignments(bad)
    with pytest.raises(InputError, match=r"\(x, p\) pairs"):
        model.compute_terms(keras.ops.convert_to_tensor(x))
    with pytest.raises(InputError, match="previous_labels"):
        model.refresh_targets(x, previous_labels=np.zeros(5, "int64"))
    image_model = DEC.from_autoencoder(dense_autoencoder(), n_clusters=3, method="dec")  # on 8x8 grey images
    with pytest.raises(InputError, match=r"size \(28, 28\); expected \(8, 8\)"):
        image_model.predict_clusters(np.zeros((2, 28, 28, 1), "float32"))
    with pytest.raises(InputError, match="channels"):
        image_model.predict_clusters(np.zeros((2, 8, 8, 3), "float32"))


# VaDE --------------------------------------------------------------------------------------------------------

def tiny_vade(seed=0):
    model = VaDE.from_autoencoder(dense_autoencoder(seed), n_clusters=3, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(5e-3))
    return model


def log_softmax(a, axis):
    a = a - a.max(axis=axis, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=axis, keepdims=True))


def elbo_by_hand(model, x, seed):
    """VaDE's Eq. 17 in numpy, with the noise `VaDE.elbo` documents."""
    pi, mu, var = model.prior()
    mean, log_var = model.encode(x)
    eps = np.random.default_rng(seed).standard_normal(mean.shape).astype("float32")
    z = mean + np.exp(0.5 * log_var) * eps
    logits = to_numpy(model.decoder(z)).reshape(len(x), -1)
    flat = x.reshape(len(x), -1)
    log_px = np.sum(flat * logits - np.logaddexp(0.0, logits), axis=1)
    log_pz_c = -0.5 * np.sum(np.log(2 * np.pi * var)[None] + (z[:, None] - mu[None]) ** 2 / var[None], axis=2)
    log_gamma = log_softmax(np.log(pi)[None] + log_pz_c, axis=1)
    gamma = np.exp(log_gamma)
    elbo = (log_px
            - 0.5 * np.sum(gamma * np.sum(np.log(var)[None] + np.exp(log_var)[:, None] / var[None]
                                          + (mean[:, None] - mu[None]) ** 2 / var[None], axis=2), axis=1)
            + np.sum(gamma * (np.log(pi)[None] - log_gamma), axis=1)
            + 0.5 * np.sum(1.0 + log_var, axis=1))
    return elbo


def test_vade_prior_by_em_elbo_by_hand_steps_and_checkpoint(tmp_path):
    """One VaDE for the prior, the ELBO, the steps and the checkpoint: on JAX each new model's step is a fresh
    compilation, and each new shape of an eager op too."""
    model = tiny_vade()
    x, _ = images(48)
    gmm = model.init_prior(x, seed=0)
    assert isinstance(gmm, GaussianMixture)
    pi, mu, var = model.prior()
    np.testing.assert_allclose(pi, gmm.weights_, rtol=1e-5)
    np.testing.assert_allclose(mu, gmm.means_, rtol=1e-5)
    np.testing.assert_allclose(var, gmm.covariances_, rtol=1e-5)
    np.testing.assert_array_equal(model.predict_clusters(x), gmm.predict(model.encode(x)[0]))

    before = model.elbo(x, seed=0)
    np.testing.assert_allclose(before, elbo_by_hand(model, x, seed=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(model.elbo(x, seed=0), before)
    before = before.mean()
    assert np.isfinite(before)
    weights = copies([model.pi_logits, model.cluster_means, model.cluster_log_vars])
    history = model.fit(np.tile(x, (20, 1, 1, 1)), batch_size=48, epochs=1, shuffle=False, verbose=0)  # 20 steps
    assert set(history.history) == {"loss", "reconstruction", "kl"}
    after = model.elbo(x, seed=0).mean()
    assert np.isfinite(after) and after > before + 5.0, (before, after)
    assert moved(weights, [model.pi_logits, model.cluster_means, model.cluster_log_vars]) > 1e-3
    q = model.soft_assignments(x)
    assert q.shape == (48, 3) and np.allclose(q.sum(axis=1), 1.0, atol=1e-5)
    assert model.sample(4, cluster=2, seed=0).shape == (4, 8, 8, 1)

    path = save_checkpoint(model, tmp_path / "vade_tiny", {"name": "vade_tiny", "description": "A tiny VaDE."})
    loaded = zoo.load(path)
    assert type(loaded) is VaDE and loaded.compiled and loaded.n_clusters == 3
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.elbo(x, seed=1), model.elbo(x, seed=1), rtol=1e-5)
    np.testing.assert_array_equal(loaded.predict_clusters(x), model.predict_clusters(x))


def test_vade_bad_inputs_get_clear_errors():
    model = tiny_vade()
    x, _ = images(6)
    with pytest.raises(InputError, match="cannot split 2 samples into 3 clusters"):
        model.init_prior(x[:2])
    with pytest.raises(InputError, match=r"expected \(8, 8\)"):
        model.predict_clusters(np.zeros((2, 28, 28, 1), "float32"))
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        model.elbo(bad)
    with pytest.raises(InputError, match="cluster must be in 0..2"):
        model.sample(2, cluster=3)
    with pytest.raises(ValueError, match=r"\[mean, log_var\]"):
        VaDE(dense_autoencoder().encoder, dense_autoencoder().decoder, n_clusters=3)
    with pytest.raises(InputError, match="n_clusters"):
        VaDE.from_autoencoder(dense_autoencoder(), n_clusters=0)


# The recipe ---------------------------------------------------------------------------------------------------


@pytest.mark.one_backend("torch")
def test_quick_recipe_stops_resumes_and_measures_idec_and_vade(tmp_path, real_tfds_dir):
    recipe = load_recipe("clustering_mnist")

    def run(method, *extra):
        return recipe.main(["--quick", "--method", method, "--verbose", "0", "--out", str(tmp_path / method),
                            "--results", str(tmp_path / f"{method}.json"), "--state",
                            str(tmp_path / method / "state" / "training_state.npz"), *extra])

    with pytest.raises(TrainingStopped):  # inside the pretraining
        run("idec", "--max-steps", "3")
    assert not (tmp_path / "idec" / "model.weights.h5").exists()
    data = run("idec", "--resume")
    assert data["steps"] in (4, 8, 12) and len(data["curve"]) == data["steps"] // 4 + 1
    assert set(data["pretrained_codes"]) == {"kmeans_codes_accuracy", "kmeans_codes_nmi", "gmm_codes_accuracy",
                                             "gmm_codes_nmi"}
    assert [r["step"] for r in data["training_runs"]["pretrain"]] == [0, 3]
    model = zoo.load(tmp_path / "idec")
    assert type(model) is DEC and model.decoder is not None and model.n_clusters == 10
    assert 0.1 <= data["metrics"]["cluster_accuracy"] <= 1 and 0 <= data["metrics"]["cluster_nmi"] <= 1
    rows = zoo.evaluation.evaluate(model, quick=True)  # the card's protocol measures it again
    assert {row.key for row in rows} == {"cluster_accuracy", "cluster_nmi"} and all(row.within for row in rows)
    assert (tmp_path / "idec_clusters.png").stat().st_size > 0 and (tmp_path / "idec_codes.png").stat().st_size > 0

    # --max-steps bounds the run: the pretraining's 16 steps count, the clustering stops 4 steps in, then resumes.
    with pytest.raises(TrainingStopped, match="after 4 steps"):
        run("vade", "--max-steps", "20")
    data = run("vade", "--resume")
    assert type(zoo.load(tmp_path / "vade")) is VaDE and 0 <= data["initial_accuracy"] <= 1
    assert data["cluster_history"]["loss"][-1] < data["cluster_history"]["loss"][0]
