"""naturalnet (rotation prediction, Gidaris et al. 2018) and natural_judge (relative patch position, Doersch et al.
2015): named layers, the pretexts' labels, a training step each, the judge kept out of perceptual losses, the
LPIPS-style perceptual distance's properties and errors, checkpoints, and the recipe's quick runs."""

import json

import keras
import numpy as np
import pytest

import zoo
from conftest import load_recipe, natural_image_files
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.losses import PerceptualLoss
from zoo.metrics import judges
from zoo.models import natural_features as nf


def tiny_net(seed=0, batch_norm=True):
    keras.utils.set_random_seed(seed)
    return nf.RotationNet(widths=(4, 4, 8, 8), hidden=8, batch_norm=batch_norm)


def tiny_judge(seed=1):
    keras.utils.set_random_seed(seed)
    return nf.NaturalJudge(widths=(4, 8, 8), hidden=8, tile_size=8, gap=2, jitter=1)


def natural_image(size=32, seed=0):
    """A natural-looking colour image in [0, 1]: 1/f noise in each channel (natural images' spectrum) and a flat
    red rectangle with sharp edges."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    radius[0, 0] = 1.0
    planes = [np.real(np.fft.ifft2((rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size)))
                                   / radius)) for _ in range(3)]
    image = np.stack(planes, axis=-1)
    image = (image - image.min()) / (image.max() - image.min())
    rows, columns = np.mgrid[:size, :size]
    image[(rows > size // 4) & (rows < size // 2) & (columns > size // 5) & (columns < 3 * size // 5)] = (0.9, 0.2, 0.1)
    return image.astype("float32")


def coordinates(height, width):
    """An image whose channel 0 is the row and channel 1 the column (divided by 255), channel 2 zero: where a
    patch came from, and whether it was turned, can be read from its pixels."""
    rows, columns = np.mgrid[:height, :width]
    return (np.stack([rows, columns, np.zeros_like(rows)], axis=-1) / 255.0).astype("float32")


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def t91():
    return natural_image_files("t91")[0]


# Architectures ------------------------------------------------------------------------------------------------

# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("tensorflow")
def test_naturalnet_is_vgg_style_with_named_layers_and_small_enough():
    net = nf.naturalnet()
    names = [layer.name for layer in net.body.layers]
    expected = [f"conv{b}_{i}" for b, depth in enumerate((2, 2, 4, 4), start=1) for i in range(1, depth + 1)]
    assert net.feature_layers == expected and {"pool1", "pool2", "pool3", "pool4"} <= set(names)
    assert net.body.get_layer("conv4_4_conv").filters == 256 and type(net.body.get_layer("conv1_2")).__name__ == "ReLU"
    kinds = {type(layer).__name__ for layer in net.body.layers}
    assert "BatchNormalization" in kinds and not {"Add", "GlobalAveragePooling2D"} & kinds  # VGG19-BN, no residuals
    assert net.count_params() * 4 < 25e6  # the bundled checkpoint's limit (float32 weights)
    assert net.min_size == 16
    plain = tiny_net(batch_norm=False)  # the plain VGG: each conv{b}_{i} a Conv2D with its ReLU
    assert plain.feature_layers == expected and plain.body.get_layer("conv1_2").activation.__name__ == "relu"
    assert "BatchNormalization" not in {type(layer).__name__ for layer in plain.body.layers}


def test_natural_judge_is_another_architecture_and_a_judge_from_birth():
    judge = nf.natural_judge()
    kinds = {type(layer).__name__ for layer in judge.body.layers}
    assert {"BatchNormalization", "Add", "GlobalAveragePooling2D"} <= kinds and "MaxPooling2D" not in kinds
    assert judge.lpips_layers == ("stem_relu", "stage1", "stage2", "stage3", "stage4")
    assert all(judge.body.get_layer(name) for name in judge.lpips_layers)
    assert judge.count_params() * 4 < 25e6 and judge.min_size == 16
    assert judges.is_judge(judge) and judges.is_judge(judge.body.get_layer("stage2"))
    assert not judges.is_judge(nf.naturalnet())


# The rotation pretext -----------------------------------------------------------------------------------------

def test_rotation_labels_on_a_hand_built_image():
    image = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")[None, :, :, None]  # a b / c d
    turned = {  # counterclockwise quarter turns, by hand
        0: [[1, 2], [3, 4]],
        1: [[2, 4], [1, 3]],
        2: [[4, 3], [2, 1]],
        3: [[3, 1], [4, 2]],
    }
    for k, expected in turned.items():
        np.testing.assert_array_equal(to_numpy(nf.rotate(keras.ops.convert_to_tensor(image), k))[0, :, :, 0], expected)
    images, labels = nf.rotation_batch(keras.ops.convert_to_tensor(image))
    images, labels = to_numpy(images), to_numpy(labels)
    assert labels.tolist() == [0, 1, 2, 3]
    for k, expected in turned.items():
        np.testing.assert_array_equal(images[k, :, :, 0], expected)  # label k is the image turned k times
    pair = np.concatenate([image, image + 4])  # two patches: the batch holds both unturned, then both turned once...
    images, labels = nf.rotation_batch(keras.ops.convert_to_tensor(pair))
    assert to_numpy(labels).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    numpy_images, numpy_labels = nf.rotations(pair)
    np.testing.assert_array_equal(to_numpy(images), numpy_images)
    assert numpy_labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    np.testing.assert_array_equal(numpy_images[3, :, :, 0], np.array(turned[1]) + 4)


def test_a_rotation_step_trains_on_upright_patches():
    net = tiny_net()
    net.compile(optimizer=keras.optimizers.Adam(1e-3))
    patches = nf.UprightPatches([natural_image(48, s) for s in range(3)], patch_size=16, batch_size=4, steps=2,
                                seed=0).batch(0)
    before = [w.copy() for w in net.get_weights()]
    history = net.fit(patches, epochs=2, batch_size=4, verbose=0).history
    assert all(np.isfinite(history["loss"])) and 0 <= history["accuracy"][-1] <= 1
    assert any(not np.allclose(a, b) for a, b in zip(before, net.get_weights()))
    images, labels = nf.rotations(patches)  # already rotated patches with their labels train too
    assert np.isfinite(net.fit(images, labels, epochs=1, batch_size=8, verbose=0).history["loss"][-1])
    assert net.predict_rotations(patches).shape == (4,)
    accuracy, per_rotation = net.rotation_accuracy(patches)
    assert 0 <= accuracy <= 1 and len(per_rotation) == 4
    with pytest.raises(InputError, match="must be square"):
        net.fit(np.zeros((2, 16, 24, 3), "float32"), epochs=1, verbose=0)
    with pytest.raises(InputError, match="smaller than this network's 16x16"):
        net.predict_rotations(np.zeros((2, 8, 8, 3), "float32"))
    with pytest.raises(InputError, match="channels"):
        net.predict_rotations(np.zeros((2, 16, 16, 1), "float32"))
    assert net.features(np.zeros((3, 33, 45, 3), "float32")).shape == (3, 8)  # any size, as bundled checks do
    with pytest.raises(InputError, match="smaller than this network's 16x16"):
        net.features(np.zeros((2, 15, 40, 3), "float32"))


def test_upright_patches_are_never_turned_only_mirrored():
    sampler = nf.UprightPatches([coordinates(40, 40)], patch_size=16, batch_size=32, steps=1, seed=0)
    patches = sampler.batch(0)
    rows, columns = patches[..., 0], patches[..., 1]
    assert np.all(np.diff(rows, axis=1) > 0) and np.all(np.diff(rows, axis=2) == 0)  # rows still run downwards
    step = np.sign(np.diff(columns, axis=2)[:, 0, 0])
    assert set(step) == {-1.0, 1.0}  # some mirrored left-right, some not
    np.testing.assert_array_equal(sampler.batch(0), patches)  # a pure function of (seed, epoch, index)


# The relative-position pretext (the judge) --------------------------------------------------------------------

def test_tile_pairs_sit_where_their_labels_say():
    tile, gap, jitter = 4, 2, 1
    region = coordinates(*(nf.region_size(tile, gap, jitter),) * 2)
    for label, (row, column) in enumerate(nf.POSITIONS):
        centre, neighbour = nf.tile_pair(region, label, tile, gap, jitter)
        offset = np.round((neighbour[0, 0, :2] - centre[0, 0, :2]) * 255)
        assert offset.tolist() == [(row - 1) * (tile + gap), (column - 1) * (tile + gap)]
        assert centre[0, 0, :2].tolist() == pytest.approx([(jitter + tile + gap) / 255] * 2)
    centre, neighbour = nf.tile_pair(region, 4, tile, gap, jitter, offsets=(1, -1, -1, 1))  # right, both jittered
    assert np.round((neighbour[0, 0, :2] - centre[0, 0, :2]) * 255).tolist() == [-2, tile + gap + 2]
    with pytest.raises(InputError, match="offsets"):
        nf.tile_pair(region, 0, tile, gap, jitter, offsets=(2, 0, 0, 0))
    pairs = nf.RelativePositionPairs([coordinates(60, 70)], tile, gap, jitter, batch_size=32, steps=1, seed=0,
                                     mirror=False)
    x, y = pairs.batch(0)
    assert x.shape == (32, 2, tile, tile, 3) and x.dtype == np.float32 and y.dtype == np.int32
    offsets = np.round((x[:, 1, 0, 0, :2] - x[:, 0, 0, 0, :2]) * 255)
    expected = np.array([nf.POSITIONS[label] for label in y]) - 1
    assert np.all(np.abs(offsets - expected * (tile + gap)) <= 2 * jitter)
    with pytest.raises(InputError, match="jitter"):
        nf.RelativePositionPairs([coordinates(60, 60)], 4, gap=2, jitter=2)
    with pytest.raises(InputError, match="sides of at least"):
        nf.RelativePositionPairs([coordinates(16, 60)], 4, gap=2, jitter=1)


def test_a_judge_step_runs_and_a_perceptual_loss_refuses_the_judge():
    judge = tiny_judge()
    judge.compile(optimizer=keras.optimizers.Adam(1e-3))
    pairs = nf.RelativePositionPairs([natural_image(40, s) for s in range(2)], 8, 2, 1, batch_size=8, steps=2, seed=1)
    history = judge.fit(pairs, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][-1]) and 0 <= history["accuracy"][-1] <= 1
    x, y = pairs.batch(1)
    assert np.isfinite(judge.fit(x, y, epochs=1, batch_size=8, verbose=0).history["loss"][-1])
    assert judge.predict_positions(x).shape == (8,)
    assert judge.features(np.zeros((3, 33, 45, 3), "float32")).shape == (3, 8)
    with pytest.raises(InputError, match="pairs of tiles"):
        judge.predict_positions(x[:, 0])
    for part in (judge, judge.body, judge.body.get_layer("stage1")):
        with pytest.raises(InputError, match="judge, which only scores results"):
            judges.check_not_judge(part, "a perceptual loss")
    for network in (judge, judge.body):
        with pytest.raises(InputError, match="judge"):
            PerceptualLoss(network, ["stem_relu"])
    net = tiny_net()  # the feature network is what the loss takes
    loss = PerceptualLoss(net, ["conv1_2", "conv2_2"])
    images = np.stack([natural_image(16, s) for s in range(2)])
    value = to_numpy(loss(images, np.clip(images[::-1] + 0.05, 0, 1)))
    assert np.isfinite(value) and value > 0


# The perceptual distance --------------------------------------------------------------------------------------

def test_perceptual_distance_is_zero_symmetric_and_grows_with_blur_and_noise():
    judge = tiny_judge()
    images = np.stack([natural_image(32, s) for s in range(3)])
    same = nf.perceptual_distance(judge, images, images)
    assert same.shape == (3,) and same.dtype == np.float64 and np.all(same == 0)
    other = images[[1, 2, 0]]
    np.testing.assert_allclose(nf.perceptual_distance(judge, images, other),
                               nf.perceptual_distance(judge, other, images), rtol=1e-5)
    assert np.all(nf.perceptual_distance(judge, images, other) > 0)
    image = images[0]
    noise = np.random.default_rng(0).standard_normal(image.shape)
    blurred = np.stack([np.clip(nf.gaussian_blur(image, s), 0, 1) for s in (0.5, 1.0, 2.0)]).astype("float32")
    noisy = np.stack([np.clip(image + s * noise, 0, 1) for s in (0.02, 0.05, 0.1)]).astype("float32")
    for distorted in (blurred, noisy):
        d = nf.perceptual_distance(judge, image, distorted)  # one reference for all
        assert np.all(d > 0) and np.all(np.diff(d) > 0), d
    # pairs of different sizes as lists; a grey image counts as its RGB copy
    listed = nf.perceptual_distance(judge, [image, images[1, :24, :20]], [blurred[1], images[2, :24, :20]])
    assert listed[0] == pytest.approx(nf.perceptual_distance(judge, image, blurred[1])[0], rel=1e-5)
    grey = images[..., :1]
    np.testing.assert_allclose(nf.perceptual_distance(judge, grey, grey[::-1]),
                               nf.perceptual_distance(judge, np.repeat(grey, 3, -1), np.repeat(grey[::-1], 3, -1)),
                               rtol=1e-5)
    assert nf.perceptual_distance(judge, image[..., 0], image[..., 0]).tolist() == [0.0]  # an (H, W) grey image


def test_gaussian_blur_is_scipys():
    from scipy.ndimage import gaussian_filter

    image = natural_image(20)
    for sigma in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(nf.gaussian_blur(image, sigma), gaussian_filter(
            image.astype(np.float64), sigma=(sigma, sigma, 0), mode="reflect", truncate=3.0), atol=1e-12)
    np.testing.assert_array_equal(nf.gaussian_blur(image, 0), image)


@pytest.mark.parametrize("reference, images, match", [
    (np.full((2, 16, 16, 3), 1.5, "float32"), np.zeros((2, 16, 16, 3), "float32"), r"in \[0, 1\]"),
    (np.full((2, 16, 16, 3), np.nan, "float32"), np.zeros((2, 16, 16, 3), "float32"), "NaN"),
    (np.zeros((2, 16, 16, 2), "float32"), np.zeros((2, 16, 16, 2), "float32"), "2 channels"),
    (np.zeros((2, 4, 4, 3), "float32"), np.zeros((2, 4, 4, 3), "float32"), "at least 8x8"),
    (np.zeros((2, 16, 16, 3), "float32"), np.zeros((2, 16, 12, 3), "float32"), "differ in size"),
    (np.zeros((2, 16, 16, 3), "float32"), np.zeros((3, 16, 16, 3), "float32"), "2 images and images 3"),
    (np.zeros((1, 2, 16, 16, 3), "float32"), np.zeros((1, 2, 16, 16, 3), "float32"), "must be images"),
    ([np.zeros((16, 16, 3), "float32")], [], "empty list"),
    ([np.zeros((16, 16, 3), "float32")] * 2, [np.zeros((16, 16, 3), "float32")], "one reference per image"),
    ([np.zeros((16, 16, 3), "float32")], [np.zeros((16, 8, 3), "float32")], r"differ in size \(pair 0\)"),
    (np.zeros((2, 16, 16, 3), "uint8"), np.zeros((2, 16, 16, 3), "uint8"), "uint8"),
])
def test_perceptual_distance_names_bad_inputs(reference, images, match):
    with pytest.raises(InputError, match=match):
        nf.perceptual_distance(tiny_judge(), reference, images)


def test_perceptual_distance_refuses_a_network_that_is_not_the_judge():
    image = natural_image(16)
    with pytest.raises(InputError, match="never also scores them"):
        nf.perceptual_distance(tiny_net(), image, image)


# Checkpoints and the recipe -----------------------------------------------------------------------------------

def saved(model, path, family):
    return save_checkpoint(model, path, metadata={"name": "x", "description": "x", "family": family, "metrics": []})


def test_checkpoints_give_the_same_outputs_and_keep_the_judge_a_judge(tmp_path):
    net, judge = tiny_net(), tiny_judge()
    images = np.stack([natural_image(16, s) for s in range(2)])
    net.compile(optimizer=keras.optimizers.Adam(1e-3))
    net.fit(images, epochs=1, batch_size=2, verbose=0)  # BatchNorm statistics away from their start
    loaded_net = zoo.load(saved(net, tmp_path / "net", "classifier"), compile=False)
    np.testing.assert_allclose(loaded_net.predict(images, verbose=0), net.predict(images, verbose=0), atol=1e-5)
    assert isinstance(loaded_net, nf.RotationNet) and loaded_net.widths == (4, 4, 8, 8) and loaded_net.batch_norm
    PerceptualLoss(loaded_net, "conv4_4")  # a loaded feature network still serves a loss
    loaded_judge = zoo.load(saved(judge, tmp_path / "judge", "judge"), compile=False)
    assert judges.is_judge(loaded_judge) and loaded_judge.tile_size == 8
    other = np.clip(images + 0.1, 0, 1)
    np.testing.assert_allclose(nf.perceptual_distance(loaded_judge, images, other),
                               nf.perceptual_distance(judge, images, other), rtol=1e-5)
    assert nf.perceptual_distance(str(tmp_path / "judge"), images, images).tolist() == [0.0, 0.0]
    with pytest.raises(InputError, match="judge"):
        PerceptualLoss(loaded_judge.body, "stage1")


def run_quick(network, tmp_path, widths):
    recipe = load_recipe("natural_features")
    out, results = tmp_path / network, tmp_path / f"{network}.json"
    recipe.main(["--network", network, "--quick", "--steps", "2", "--steps-per-epoch", "1", "--batch-size", "4",
                 "--widths", *map(str, widths), "--hidden", "8", "--eval-patches", "8", "--verbose", "0",
                 "--out", str(out), "--results", str(results), "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    meta = json.loads((out / "metadata.json").read_text())["zoo"]
    assert data["quick"] and data["steps"] == 2 and data["training_sets"] == ["t91"]
    assert data["seed"] == recipe.SEEDS[network] and data["seconds_per_step"] > 0
    assert len(data["held_out_images"]) == 9 and data["training_images"] == 82
    return recipe, data, meta, out


@pytest.mark.one_backend("tensorflow")
def test_quick_naturalnet_recipe_measures_held_out_rotations(tmp_path, t91):
    recipe, data, meta, out = run_quick("naturalnet", tmp_path, (4, 4, 8, 8))
    assert 0 <= data["metrics"]["rotation_accuracy"] <= 1 and meta["family"] == "classifier"
    loaded = zoo.load(str(out), compile=False)
    assert not judges.is_judge(loaded) and "conv4_4" in loaded.feature_layers
    files = recipe.training_data(recipe.parse_args(["--network", "naturalnet"]))["image_files"]
    assert len(files) == 334 and not {p.name for p in files} & {"t18.bmp", "t27.bmp"}  # held out of training


# TensorFlow, not torch: torch 2.13's oneDNN (jit_avx2_1x1_convolution_bwd_weights) at times never returns from the
# backward pass of these tiny widths' strided 1x1 projections (a worker thread spins; seen here and in CI).
@pytest.mark.one_backend("tensorflow")
def test_quick_judge_recipe_measures_positions_and_its_distance(tmp_path, t91):
    _, data, meta, out = run_quick("natural_judge", tmp_path, (4, 8, 8, 8))
    metrics = data["metrics"]
    assert 0 <= metrics["position_accuracy"] <= 1 and meta["family"] == "judge" and "judge" in meta["tags"]
    assert metrics["perceptual_distance_natural_judge_blur_0_5"] < metrics["perceptual_distance_natural_judge_blur_2_0"]
    assert judges.is_judge(zoo.load(str(out), compile=False))
