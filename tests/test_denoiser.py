"""DnCNN and the natural-image data: shapes, the residual, training, colour, PSNR, patches, bad inputs, saving."""

import math

import keras
import numpy as np
import pytest

from zoo.checkpoints import load_checkpoint, save_checkpoint
from zoo.data import natural
from zoo.errors import DataNotFoundError, InputError
from zoo.metrics import psnr
from zoo.models.denoiser import OFFSET, OPPONENT, DnCNN

from conftest import load_recipe, missing_data


def small_dncnn(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    kwargs = {"depth": 4, "width": 8, "seed": seed, **kwargs}
    model = DnCNN(**kwargs)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    return model


def randomize_last_layer(model, seed=0):
    """The last convolution starts at zero (identity denoiser); give it weights so outputs differ."""
    layer = model.network.get_layer(f"conv_{model.depth - 1}")
    layer.kernel.assign(np.random.default_rng(seed).normal(0, 0.05, layer.kernel.shape).astype("float32"))


@pytest.fixture(scope="module")
def t91():
    """T91's training images at half size (Set5, used before, is a super-resolution test set)."""
    try:
        return natural.training_images(sets=("t91",), scales=(0.5,))
    except DataNotFoundError as e:
        missing_data("T91 images", e)


@pytest.fixture(scope="module")
def bsd68_first():
    try:
        return natural.load_images("bsd68", limit=1)[0]
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"BSD68 images not found under ZOO_DATA_DIR: {e}")


@pytest.mark.parametrize("shape", [(2, 17, 23, 1), (1, 31, 9, 3), (3, 1, 5, 1)])
def test_any_image_size_and_both_channel_counts(shape):
    model = small_dncnn()
    x = np.random.default_rng(0).uniform(size=shape).astype("float32")
    out = keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(x)))
    assert out.shape == shape
    assert model.denoise(x).shape == shape
    assert model.denoise(x[0]).shape == shape[1:]  # one (H, W, C) image
    assert model(x).shape == shape  # numpy in, numpy out
    if shape[-1] == 1:
        assert model.denoise(x[0, ..., 0]).shape == shape[1:3]  # one (H, W) grey image


def test_output_is_the_input_minus_the_predicted_residual():
    model = small_dncnn()
    randomize_last_layer(model)
    x = keras.ops.convert_to_tensor(np.random.default_rng(1).uniform(size=(2, 12, 15, 1)).astype("float32"))
    residual = keras.ops.convert_to_numpy(model.network(x))
    assert np.abs(residual).mean() > 1e-3  # a real residual, not zeros
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), keras.ops.convert_to_numpy(x) - residual,
                               atol=1e-6)
    # A fresh model starts as the identity: its last layer is zero.
    fresh = small_dncnn()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh(x)), keras.ops.convert_to_numpy(x), atol=1e-7)


def test_colour_goes_through_the_opponent_planes():
    model = small_dncnn()
    rgb = np.random.default_rng(2).uniform(size=(2, 10, 13, 3)).astype("float32")
    # With a zero last layer the residual is 0, so transform and inverse must give the input back.
    np.testing.assert_allclose(model.denoise(rgb), rgb, atol=1e-5)
    randomize_last_layer(model)
    planes = rgb @ OPPONENT.T.astype("float32") + OFFSET.astype("float32")
    grey = np.concatenate([planes[..., k:k + 1] for k in range(3)])  # the planes as grey images
    denoised_planes = grey - keras.ops.convert_to_numpy(model.network(keras.ops.convert_to_tensor(grey)))
    denoised_planes = np.concatenate(np.split(denoised_planes, 3), axis=-1)
    expected = (denoised_planes - OFFSET) @ np.linalg.inv(OPPONENT).T
    got = keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(rgb)))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - rgb).mean() > 1e-3


def test_opponent_planes_keep_white_noise_white():
    rows = OPPONENT @ OPPONENT.T
    np.testing.assert_allclose(rows - np.diag(np.diag(rows)), 0, atol=1e-12)  # orthogonal rows
    np.testing.assert_allclose(np.sqrt(np.diag(rows)), [0.57735, 0.70711, 0.61237], atol=1e-5)


def test_train_steps_lower_the_loss_and_change_the_weights(t91):
    model = small_dncnn(sigma_range=(25, 25))
    clean = keras.ops.convert_to_tensor(natural.PatchSampler(t91, 32, 16, seed=3).batch(0))
    noise = keras.ops.convert_to_tensor(
        np.random.default_rng(0).standard_normal((16, 32, 32, 1)).astype("float32") * 25 / 255)

    def fixed_loss():  # the loss on one fixed noisy batch
        residual = model.network(clean + noise, training=True)  # batch statistics, as in training
        return float(keras.ops.convert_to_numpy(keras.ops.mean((residual - noise) ** 2)))

    before, weights = fixed_loss(), [w.copy() for w in model.get_weights()]
    assert before == pytest.approx(float(keras.ops.mean(noise ** 2)), rel=1e-5)  # identity at the start
    for _ in range(15):
        model.train_on_batch(clean)
    after = fixed_loss()
    assert after < 0.7 * before, (before, after)
    changed = [not np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True)]
    assert sum(changed) >= len(changed) // 2


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("torch")
def test_a_few_seconds_of_training_beat_the_noisy_input(t91, bsd68_first):
    model = small_dncnn(depth=5, width=16, sigma_range=(15, 35))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(natural.PatchSampler(t91, patch_size=32, batch_size=16, steps=60, seed=0), epochs=2, verbose=0)
    clean = bsd68_first[100:164, 200:264]  # a held-out patch of a test image
    noisy = clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape).astype("float32")
    gain = psnr(clean, model.denoise(noisy)) - psnr(clean, noisy)
    assert gain > 3.0, gain  # about 4.5 dB on every backend; an identity denoiser gains 0


def test_psnr_against_a_hand_computed_value():
    clean = np.zeros((2, 2))
    estimate = np.array([[0.1, 0.0], [0.0, 0.0]])
    # MSE = 0.01 / 4 = 0.0025 -> 10 log10(1 / 0.0025) = 26.0206 dB; the same on the 0..255 scale with peak 255.
    assert psnr(clean, estimate) == pytest.approx(26.0206, abs=1e-4)
    assert psnr(clean * 255, estimate * 255, peak=255) == pytest.approx(26.0206, abs=1e-4)
    assert psnr(estimate, estimate) == math.inf
    with pytest.raises(InputError, match="one shape"):
        psnr(clean, np.zeros((3, 2)))


def test_patch_sampler_is_deterministic_and_augments():
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30, 1) / 600  # every pixel unique
    sampler = natural.PatchSampler([image], patch_size=6, batch_size=64, steps=3, seed=5)
    batch = sampler.batch(1, epoch=2)
    assert batch.shape == (64, 6, 6, 1) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, natural.PatchSampler([image], 6, 64, seed=5).batch(1, epoch=2))
    assert not np.array_equal(batch, sampler.batch(2, epoch=2))
    assert not np.array_equal(batch, sampler.batch(1, epoch=3))
    assert not np.array_equal(batch, natural.PatchSampler([image], 6, 64, seed=6).batch(1, epoch=2))
    seen = set()
    for patch in batch:  # each patch is one of the 8 symmetries of a crop of the image
        top_left = patch.min()  # the crop's top-left pixel holds its smallest value
        r, c = divmod(int(np.rint(top_left * 600)), 30)
        crop = image[r:r + 6, c:c + 6]
        matches = [t for t in range(8) if np.array_equal(natural.dihedral(crop, t), patch)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(range(8))
    plain = natural.PatchSampler([image], 6, 64, seed=5, augment=False).batch(0)
    assert all(patch[0, 0, 0] == patch.min() and patch[0, 1, 0] > patch[0, 0, 0] for patch in plain)
    assert len(sampler) == 3


def test_patch_sampler_uses_uint8_images_and_rejects_small_ones():
    image = np.full((8, 8, 1), 255, np.uint8)
    np.testing.assert_array_equal(natural.PatchSampler([image], 4, 2).batch(0), np.ones((2, 4, 4, 1), np.float32))
    with pytest.raises(InputError, match="smaller than patch_size"):
        natural.PatchSampler([image], patch_size=9)


def test_test_sets_cannot_be_training_images():
    with pytest.raises(InputError, match="test sets"):
        natural.training_images(sets=("sun_hays80", "bsd68"))


def test_loads_the_test_sets(bsd68_first):
    assert bsd68_first.shape in ((321, 481, 1), (481, 321, 1)) and bsd68_first.dtype == np.float32
    assert 0 <= bsd68_first.min() and bsd68_first.max() <= 1
    assert len(natural.image_files("bsd68")) == len(natural.image_files("cbsd68")) == 68
    colour = natural.load_images("cbsd68", channels=3, limit=2)
    assert len(colour) == 2 and all(im.shape[-1] == 3 for im in colour)
    with pytest.raises(InputError, match="Unknown image set"):
        natural.image_files("bsd500")


@pytest.mark.parametrize("x, match", [
    (np.zeros((2, 16, 16, 2), "float32"), "2 channels"),
    (np.zeros((2, 16, 16, 4), "float32"), "4 channels"),
    (np.zeros((2, 16, 16), "float32"), r"16 channels.*x\[\.\.\., None\]"),
    (np.full((16, 16, 1), 200, np.uint8), "divided by 255"),
    (np.full((16, 16, 1), 200.0, "float32"), "divided by 255"),
    (np.full((16, 16, 1), np.nan, "float32"), "NaN"),
    (np.zeros((0, 16, 16, 1), "float32"), "empty"),
    (np.zeros((1, 2, 16, 16, 1), "float32"), "expected one image"),
])
def test_bad_inputs_get_clear_errors(x, match):
    model = small_dncnn()
    with pytest.raises(InputError, match=match):
        model.denoise(x)
    with pytest.raises(InputError, match=match):
        model(x)


def test_noisy_values_a_little_outside_the_unit_range_are_accepted():
    model = small_dncnn()
    x = np.random.default_rng(0).uniform(-0.3, 1.3, size=(12, 12, 1)).astype("float32")
    out = model.denoise(x)
    assert out.min() >= 0 and out.max() <= 1


def test_a_colour_model_takes_only_colour():
    model = small_dncnn(channels=3)
    assert model.denoise(np.zeros((8, 8, 3), "float32")).shape == (8, 8, 3)
    with pytest.raises(InputError, match="1 channels"):
        model.denoise(np.zeros((8, 8, 1), "float32"))


def test_fit_checks_clean_images():
    with pytest.raises(InputError, match="255"):
        small_dncnn().fit(np.full((4, 16, 16, 1), 255.0, "float32"), epochs=1, verbose=0)


def test_checkpoint_round_trip(tmp_path):
    model = small_dncnn(sigma_range=(5, 40))
    randomize_last_layer(model)
    path = save_checkpoint(model, tmp_path / "dae_tiny", {"name": "dae_tiny", "description": "A tiny DnCNN."})
    loaded = load_checkpoint(path)
    assert isinstance(loaded, DnCNN) and loaded.depth == 4 and loaded.sigma_range == (5.0, 40.0)
    x = np.random.default_rng(0).uniform(size=(1, 19, 21, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    loaded.fit(np.random.default_rng(1).uniform(size=(8, 16, 16, 1)).astype("float32"), epochs=1, verbose=0)


def test_quick_recipe_writes_a_checkpoint_results_and_picture(tmp_path, t91):
    import json

    recipe = load_recipe("dncnn_bsd")
    out, results = tmp_path / "dae_bsd", tmp_path / "dae_bsd.json"
    recipe.main(["--quick", "--steps", "10", "--verbose", "0", "--out", str(out), "--results", str(results),
                 "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["quick"] and data["steps"] == 10 and data["eval_images"] == 2
    for name in ("bsd68", "cbsd68"):
        for sigma in (15, 25, 50):
            noisy = data["metrics"][f"psnr_noisy_{name}_s{sigma}"]
            assert abs(noisy - 20 * math.log10(255 / sigma)) < 0.2  # unclipped noise of level sigma
            assert math.isfinite(data["metrics"][f"psnr_{name}_s{sigma}"])
    meta = json.loads((out / "metadata.json").read_text())["zoo"]
    target = next(m for m in meta["metrics"] if m["key"] == "psnr_bsd68_s25")
    assert target["target"] == ">= 28.6" and "BM3D 28.57" in target["reference"]
    assert (tmp_path / "dae_bsd_denoising.png").is_file()
    loaded = load_checkpoint(out)
    image = natural.load_images("cbsd68", channels=3, limit=1)[0]
    assert loaded(image).shape == image.shape
