"""The VAE: numpy API, ELBO training with plain Keras fit, callbacks, saving, bad inputs."""

import keras
import numpy as np
import pytest

from zoo.errors import InputError, TrainingDiverged
from zoo.models.vae import VAE


def small_vae(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    model = VAE(latent_dim=8, filters=(8, 16), hidden=64, seed=seed, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    return model


def test_numpy_api_shapes_and_ranges():
    model = small_vae()
    x = np.random.default_rng(0).uniform(size=(5, 28, 28, 1)).astype("float32")
    mean, log_var = model.encode(x)
    assert mean.shape == log_var.shape == (5, 8) and mean.dtype == np.float32
    logits = model.decode_logits(mean)
    assert logits.shape == (5, 28, 28, 1)
    images = model.sample(16, seed=0)
    assert images.shape == (16, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(16, seed=0))
    assert not np.array_equal(images, model.sample(16, seed=1))
    assert model.reconstruct(x).shape == x.shape
    assert model.encode(x[..., 0])[0].shape == (5, 8)  # (n, H, W) grey images get their channel axis


def test_elbo_goes_down_and_logs_its_terms(digits):
    model = small_vae()
    history = model.fit(digits, batch_size=64, epochs=3, verbose=0, validation_data=(digits[:128],))
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 20, losses
    for key in ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl"):
        assert len(history.history[key]) == 3
    np.testing.assert_allclose(history.history["loss"][-1],
                               history.history["reconstruction"][-1] + history.history["kl"][-1], rtol=1e-4)


def test_beta_weighs_the_kl_term(digits):
    plain, weighted = small_vae(beta=1.0), small_vae(beta=4.0)
    terms = plain.compute_terms(keras.ops.convert_to_tensor(digits[:64]))
    weighted.set_weights(plain.get_weights())
    keras.utils.set_random_seed(0)
    weighted_terms = weighted.compute_terms(keras.ops.convert_to_tensor(digits[:64]))
    for t in (terms, weighted_terms):
        assert float(t["kl"]) > 0
    np.testing.assert_allclose(float(weighted_terms["loss"]),
                               float(weighted_terms["reconstruction"]) + 4.0 * float(weighted_terms["kl"]), rtol=1e-5)


def test_kl_warmup_raises_the_kl_weight_linearly_while_training_only(digits):
    model = small_vae(beta=2.0, kl_warmup=10)
    model.optimizer.build(model.trainable_variables)
    for step, weight in ((0, 0.0), (5, 1.0), (10, 2.0), (25, 2.0)):
        model.optimizer.iterations.assign(step)
        assert float(keras.ops.convert_to_numpy(model.kl_weight(training=True))) == pytest.approx(weight)
        assert model.kl_weight(training=False) == 2.0  # evaluation scores the model's own objective
    model.optimizer.iterations.assign(0)
    x = keras.ops.convert_to_tensor(digits[:32])
    terms = model.compute_terms(x, training=True)
    assert float(terms["kl"]) > 0 and float(terms["loss"]) == pytest.approx(float(terms["reconstruction"]))
    history = model.fit(digits[:64], batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert VAE.from_config(model.get_config()).kl_warmup == 10
    with pytest.raises(ValueError, match="kl_warmup"):
        VAE(kl_warmup=-1)


def test_callbacks_work_unchanged(digits, tmp_path):
    model = small_vae()
    best = tmp_path / "best.weights.h5"
    history = model.fit(
        digits, batch_size=128, epochs=3, verbose=0, validation_data=(digits[:128],),
        callbacks=[
            keras.callbacks.ModelCheckpoint(best, save_weights_only=True, save_best_only=True, monitor="val_loss"),
            keras.callbacks.EarlyStopping(monitor="loss", patience=5),
            keras.callbacks.CSVLogger(tmp_path / "log.csv"),
            keras.callbacks.BackupAndRestore(tmp_path / "backup"),
        ],
    )
    assert best.is_file() and (tmp_path / "log.csv").read_text().count("\n") == 4
    assert len(history.history["loss"]) == 3


def test_keras_file_round_trip(tmp_path):
    model = small_vae()
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VAE) and loaded.latent_dim == 8 and loaded.filters == (8, 16)
    z = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    np.testing.assert_allclose(model.decode_logits(z), loaded.decode_logits(z), atol=1e-6)


@pytest.mark.parametrize("x, match", [
    (np.zeros((4, 32, 32, 1), "float32"), r"\(28, 28\)"),
    (np.zeros((4, 28, 28, 3), "float32"), "channel"),
    (np.full((4, 28, 28, 1), 255.0, "float32"), "255"),
    (np.full((4, 28, 28, 1), np.nan, "float32"), "NaN"),
    (np.zeros((0, 28, 28, 1), "float32"), "empty|no images"),
])
def test_bad_inputs_get_clear_errors(x, match):
    model = small_vae()
    with pytest.raises(InputError, match=match):
        model.encode(x)
    with pytest.raises(InputError, match=match):
        model.fit(x, epochs=1, verbose=0)


def test_bad_validation_data_is_checked_too(digits):
    with pytest.raises(InputError, match="NaN"):
        small_vae().fit(digits[:64], epochs=1, verbose=0,
                        validation_data=(np.full((8, 28, 28, 1), np.nan, "float32"),))


def test_bad_codes_get_clear_errors():
    model = small_vae()
    with pytest.raises(ValueError, match=r"\(n, 8\)"):
        model.decode_logits(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="NaN"):
        model.decode(np.full((2, 8), np.nan, "float32"))


class PoisonWeights(keras.callbacks.Callback):
    """Turns a weight into NaN after `after` batches, as an exploding update would."""

    def __init__(self, after):
        super().__init__()
        self.after = after
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            weight = self.model.decoder.get_layer("logits").kernel
            weight.assign(np.full(weight.shape, np.nan, "float32"))


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(digits, tmp_path):
    model = small_vae()
    checkpoint = tmp_path / "last.weights.h5"
    callbacks = [keras.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True)]
    model.fit(digits[:256], batch_size=64, epochs=1, verbose=0, callbacks=callbacks)
    good = checkpoint.read_bytes()
    # Epoch 2 has 4 batches; the weights break after its 2nd, so the 3rd logs NaN.
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch 3 \(step 3"):
        model.fit(digits[:256], batch_size=64, epochs=1, verbose=0,
                  callbacks=[PoisonWeights(after=2), *callbacks])
    assert checkpoint.read_bytes() == good
    restored = small_vae()
    restored.load_weights(checkpoint)
    assert np.all(np.isfinite(restored.sample(2, seed=0)))
