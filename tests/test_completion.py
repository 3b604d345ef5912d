"""Image completion (Iizuka et al. 2017) on this backend: the networks' shapes, the patch crop, each training phase
moving only its players, `complete` on any size with its bad inputs, the batches' holes, and a checkpoint."""

import json

import keras
import numpy as np
import pytest

import zoo
from conftest import load_recipe, shared_data_dir
from zoo.checkpoints import save_checkpoint
from zoo.data.masks import load_masks, test_masks
from zoo.errors import InputError
from zoo.models.completion import (
    CompletionBatches,
    ImageCompletion,
    completion_network,
    context_discriminator,
    crop_patches,
    default_dilations,
    discriminator_depth,
)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def tiny(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    settings = {"channels": 3, "image_size": 16, "local_size": 8, "hole_sides": (2, 6), "width": 4,
                "discriminator_width": 2, "fill": [0.4, 0.5, 0.6]}
    return ImageCompletion(**{**settings, **kwargs})


def images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def copies(weights):
    return [np.array(to_numpy(w)) for w in weights]


def moved(before, weights):
    return max(float(np.max(np.abs(b - to_numpy(w)))) for b, w in zip(before, weights, strict=True))


def test_the_paper_sizes_scale_with_the_image():
    assert default_dilations(256) == (2, 4, 8, 16) and default_dilations(128) == (1, 2, 4, 8)
    assert default_dilations(64) == (1, 1, 2, 4)
    assert [discriminator_depth(s) for s in (256, 128, 64, 32, 28)] == [6, 5, 4, 3, 3]


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("tensorflow")
def test_the_networks_take_their_sizes():
    net = completion_network(channels=1, width=4, dilations=(1, 2, 1, 1))
    out = to_numpy(net(np.zeros((2, 12, 20, 2), "float32")))
    assert out.shape == (2, 12, 20, 1) and out.min() >= 0 and out.max() <= 1
    d = context_discriminator(channels=3, image_size=16, local_size=8, width=2)
    assert to_numpy(d([np.zeros((3, 16, 16, 3), "float32"), np.zeros((3, 8, 8, 3), "float32")])).shape == (3, 1)
    assert sum("global_conv" in layer.name for layer in d.layers) == 2
    assert sum("local_conv" in layer.name for layer in d.layers) == 1


def test_patches_are_cropped_at_each_images_corner():
    x = images((3, 10, 12, 2))
    corners = np.array([[0, 0], [2, 5], [6, 4]], "int32")
    patches = to_numpy(crop_patches(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(corners), 4))
    for k, (top, left) in enumerate(corners):
        np.testing.assert_array_equal(patches[k], x[k, top:top + 4, left:left + 4])


def test_batches_hold_one_hole_of_the_sides_inside_the_local_patch():
    data = CompletionBatches([images((20, 24, 3), seed=k) for k in range(3)], image_size=16, local_size=8,
                             hole_sides=(2, 6), batch_size=32, steps=2, seed=3)
    (x,) = data.batch(1, epoch=2)
    (again,) = data.batch(1, epoch=2)
    for key in x:
        np.testing.assert_array_equal(x[key], again[key])
    assert x["images"].shape == (32, 16, 16, 3) and x["masks"].shape == (32, 16, 16, 1)
    for mask, (top, left), real in zip(x["masks"][..., 0], x["hole_corners"], x["real_corners"]):
        rows, cols = np.nonzero(mask)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert 2 <= height <= 6 and 2 <= width <= 6 and mask.sum() == height * width  # one rectangle
        assert top <= rows.min() and rows.max() < top + 8 and left <= cols.min() and cols.max() < left + 8
        assert 0 <= top <= 8 and 0 <= left <= 8 and np.all((0 <= real) & (real <= 8))
    with pytest.raises(InputError, match="at least 16x16"):
        CompletionBatches([images((12, 24, 3))], 16, 8, (2, 6))


def test_each_phase_moves_only_its_players_and_the_checkpoint_keeps_them(tmp_path):
    model = tiny()
    model.compile(optimizers={name: keras.optimizers.Adam(1e-2) for name in model.players})
    x = images((8, 16, 16, 3))
    for phase, moves in (("completion", {"completion"}), ("discriminator", {"discriminator"}),
                         ("joint", {"completion", "discriminator"})):
        model.set_phase(phase)
        before = {name: copies(getattr(model, name).trainable_weights) for name in model.players}
        history = model.fit(x, batch_size=4, epochs=1, verbose=0, seed=1)
        assert all(np.isfinite(v).all() for v in history.history.values()), phase
        for name in model.players:
            assert (moved(before[name], getattr(model, name).trainable_weights) > 0) == (name in moves), (phase,
                                                                                                         name)
    assert history.history["adversarial_loss"][0] > 0

    path = save_checkpoint(model, tmp_path / "completion_tiny", {"name": "completion_tiny",
                                                                  "description": "A tiny completion model."})
    loaded = zoo.load(path)
    assert type(loaded) is ImageCompletion and loaded.phase == "joint"
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    mask = np.zeros((13, 15), bool)
    mask[3:8, 4:10] = True
    image = images((13, 15, 3), seed=2)
    np.testing.assert_allclose(loaded.complete(image, mask), model.complete(image, mask), atol=1e-6)


def test_complete_keeps_the_known_pixels_on_any_size_and_layout():
    model = tiny()
    image = images((13, 15, 3))
    mask = np.zeros((13, 15), bool)
    mask[2:9, 3:7] = True
    out = model.complete(image, mask)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.allclose(out[mask], image[mask])
    batch = np.stack([image, images((13, 15, 3), seed=1)])
    np.testing.assert_allclose(model.complete(batch, mask)[0], out, atol=1e-6)  # one mask for every image
    np.testing.assert_array_equal(model.complete(image, np.zeros_like(mask)), image)  # nothing to fill
    grey = image.mean(axis=-1)
    filled = model.complete(grey, mask)
    assert filled.shape == grey.shape and np.array_equal(filled[~mask], grey[~mask])


@pytest.mark.parametrize("image, mask, match", [
    (np.zeros((16, 16, 3), "float32"), np.ones((16, 16), bool), "covers the whole"),
    (np.zeros((16, 16, 3), "float32"), np.zeros((16, 12), bool), r"\(16, 12\)"),
    (np.zeros((16, 16, 3), "float32"), np.full((16, 16), 0.5), "binary"),
    (np.full((16, 16, 3), 200, np.uint8), np.zeros((16, 16), bool), "divided by 255"),
    (np.zeros((16, 16, 4), "float32"), np.zeros((16, 16), bool), "alpha"),
])
def test_bad_inputs_get_clear_errors(image, mask, match):
    with pytest.raises(InputError, match=match):
        tiny().complete(image, mask)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="hole_sides"):
        tiny(hole_sides=(2, 9))  # larger than the local patch
    with pytest.raises(ValueError, match="phase"):
        tiny().set_phase("warmup")
    with pytest.raises(ValueError, match="multiple of 4"):
        tiny(image_size=18)


@pytest.mark.one_backend("torch")  # the fastest here for many small steps
def test_quick_faces_recipe_measures_every_fill_and_its_card_is_measured_again(tmp_path):
    shared_data_dir("olivetti_faces/olivetti_faces.npz", "the completion recipe")
    out, results = tmp_path / "completion_faces", tmp_path / "completion_faces.json"
    load_recipe("completion").main(["--data", "faces", "--quick", "--verbose", "0", "--out", str(out),
                                    "--results", str(results), "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["steps"] == 4 and list(data["phases"]) == ["completion", "discriminator", "joint"]
    assert data["test_images"] == 10 and len(data["fill"]) == 1 and 0.2 < data["fill"][0] < 0.8
    for prefix in ("", "blended_", "mean_", "biharmonic_", "telea_"):
        assert 5 < data["metrics"][f"{prefix}hole_psnr"] < 40 and f"{prefix}identity_accuracy" in data["metrics"]
    masks, meta = load_masks(results.with_name("completion_faces_test_masks.npz"))
    np.testing.assert_array_equal(masks, test_masks("faces", 10))
    assert meta["kind"] == "faces"
    for picture in ("completion_faces_pictures.png", "completion_faces_free_form.png"):
        assert results.with_name(picture).stat().st_size > 0
    model = zoo.load(out)
    rows = zoo.evaluation.evaluate(model)  # the card's completion protocol, plain and post-processed
    keys = {row.key for row in rows if row.measured is not None}
    assert {"hole_psnr", "blended_hole_l1", "identity_accuracy_originals"} <= keys
    assert all(row.within for row in rows if row.measured is not None)
    assert all(row.skipped for row in rows if row.key.startswith(("mean_", "biharmonic_", "telea_")))
