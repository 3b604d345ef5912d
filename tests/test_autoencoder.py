"""Autoencoders (plain, denoising, 2-d) and the beta-VAE's traversal and KL-per-dimension tools."""

import keras
import numpy as np
import pytest

from zoo.checkpoints import load_checkpoint, save_checkpoint
from zoo.errors import InputError
from zoo.models.autoencoder import Autoencoder
from zoo.models.vae import VAE


def small_ae(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    model = Autoencoder(filters=(8, 16), hidden=64, seed=seed, **{"code_dim": 4, **kwargs})
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    return model


def test_numpy_api_shapes_and_ranges():
    model = small_ae(code_dim=2)
    x = np.random.default_rng(0).uniform(size=(5, 28, 28, 1)).astype("float32")
    codes = model.encode(x)
    assert codes.shape == (5, 2) and codes.dtype == np.float32
    images = model.decode(codes)
    assert images.shape == x.shape and images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_allclose(model.reconstruct(x), images, atol=1e-6)


@pytest.mark.parametrize("noise", [None, "gaussian", "masking"])
def test_training_lowers_the_reconstruction_loss(digits, noise):
    model = small_ae(noise=noise, noise_level=0.3 if noise else 0.0)
    before = model.evaluate(digits, batch_size=128, verbose=0, return_dict=True)["loss"]
    history = model.fit(digits, batch_size=64, epochs=3, verbose=0)
    after = model.evaluate(digits, batch_size=128, verbose=0, return_dict=True)["loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after < 0.8 * before, (before, after)


def test_corruption_matches_its_definition():
    x = keras.ops.ones((4, 28, 28, 1))
    assert np.array_equal(np.asarray(small_ae().corrupt(x)), np.ones((4, 28, 28, 1)))
    masked = np.asarray(small_ae(noise="masking", noise_level=0.3).corrupt(x))
    assert set(np.unique(masked)) <= {0.0, 1.0}
    assert 0.27 < 1.0 - masked.mean() < 0.33  # the share of dropped pixels
    noisy = np.asarray(small_ae(noise="gaussian", noise_level=0.5).corrupt(x)) - 1.0
    assert abs(noisy.mean()) < 0.03 and 0.47 < noisy.std() < 0.53


def test_corruption_is_for_training_only(digits):
    model = small_ae(noise="masking", noise_level=0.5)
    x = keras.ops.convert_to_tensor(digits[:64])
    clean = float(model.compute_terms(x, training=False)["loss"])
    assert clean == pytest.approx(float(model.compute_terms(x, training=False)["loss"]))
    assert float(model.compute_terms(x, training=True)["loss"]) != pytest.approx(clean)


@pytest.mark.parametrize("kwargs, match", [
    ({"noise": "salt"}, "noise must be one of"),
    ({"noise": "gaussian", "noise_level": 0.0}, "noise_level > 0"),
    ({"noise": "masking", "noise_level": 1.0}, r"in \(0, 1\)"),
])
def test_bad_settings_get_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Autoencoder(**kwargs)


def test_bad_inputs_get_clear_errors():
    model = small_ae()
    with pytest.raises(InputError, match="255"):
        model.encode(np.full((2, 28, 28, 1), 255.0, "float32"))
    with pytest.raises(InputError, match="channel"):
        model.encode(np.zeros((2, 28, 28, 3), "float32"))
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        model.decode(np.zeros((2, 3), "float32"))


def test_checkpoint_round_trip(tmp_path):
    model = small_ae(noise="masking", noise_level=0.25)
    x = np.random.default_rng(1).uniform(size=(3, 28, 28, 1)).astype("float32")
    save_checkpoint(model, tmp_path / "ae", metadata={"name": "ae_test", "description": "A tiny denoising autoencoder for tests."})
    loaded = load_checkpoint(tmp_path / "ae")
    assert isinstance(loaded, Autoencoder) and loaded.noise == "masking" and loaded.noise_level == 0.25
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), atol=1e-5)


def test_kl_per_dimension_finds_the_dimensions_the_encoder_uses():
    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=4, filters=(8, 16), hidden=32)
    # Make q(z|x) exactly N(0, 1) in dimensions 1..3 and informative in dimension 0.
    mean_head, log_var_head = model.encoder.get_layer("mean"), model.encoder.get_layer("log_var")
    kernel = np.zeros(mean_head.kernel.shape, "float32")
    kernel[:, 0] = 1.0
    mean_head.kernel.assign(kernel)
    mean_head.bias.assign(np.zeros(4, "float32"))
    log_var_head.kernel.assign(np.zeros(log_var_head.kernel.shape, "float32"))
    log_var_head.bias.assign(np.zeros(4, "float32"))
    x = np.random.default_rng(0).uniform(size=(16, 28, 28, 1)).astype("float32")
    kl = model.kl_per_dimension(x)
    mean, _ = model.encode(x)
    np.testing.assert_allclose(kl, [0.5 * np.mean(mean[:, 0] ** 2), 0.0, 0.0, 0.0], atol=1e-5)
    assert kl[0] > 0.01


def test_traversal_changes_one_dimension_per_row():
    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=3, filters=(8, 16), hidden=32)
    x = np.random.default_rng(0).uniform(size=(1, 28, 28, 1)).astype("float32")
    values = (-2.0, 0.0, 2.0)
    images = model.traverse(x, dims=[0, 2], values=values)
    assert images.shape == (6, 28, 28, 1)
    mean, _ = model.encode(x)
    expected = np.repeat(mean, 3, axis=0)
    expected[:, 2] = values
    np.testing.assert_allclose(images[3:], model.decode(expected), atol=1e-6)
    with pytest.raises(ValueError, match="one image"):
        model.traverse(np.concatenate([x, x]))
    with pytest.raises(ValueError, match="outside"):
        model.traverse(x, dims=[3])
