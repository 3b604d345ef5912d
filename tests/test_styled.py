"""The outline style and its unpaired data (zoo.data.styled), and the cyclegan_mnist_outline recipe's --quick run."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import registry
from zoo.data.shuffle import disjoint_halves as halves
from zoo.data.styled import outline, unpaired_styled
from zoo.errors import InputError

from conftest import load_recipe


def square(size=9, side=5, value=1.0):
    """One grey image (1, size, size, 1): a centred filled square of `value` on a zero background."""
    image = np.zeros((1, size, size, 1), "float32")
    start = (size - side) // 2
    image[0, start:start + side, start:start + side] = value
    return image


# The style ---------------------------------------------------------------------------------------------


def test_outline_of_a_filled_square_is_a_dark_hollow_ring_on_white():
    styled = outline(square(value=0.6))[0, ..., 0]
    # Dilation: the 7x7 square around the 5x5 one; erosion: its 3x3 core. Gradient 0.6 between, 0 elsewhere.
    expected = np.ones((9, 9), "float32")
    expected[1:8, 1:8] = 0.4
    expected[3:6, 3:6] = 1.0  # the core is hollow: max - min = 0.6 - 0.6
    np.testing.assert_allclose(styled, expected, atol=1e-6)


def test_thin_strokes_become_thick_dark_lines_and_the_border_is_background():
    image = np.zeros((1, 6, 6), "float32")
    image[0, :, 0] = 1.0  # a one-pixel vertical line on the left edge, a grey (n, H, W) batch
    styled = outline(image)
    assert styled.shape == (1, 6, 6, 1) and styled.dtype == np.float32
    # No core survives erosion; the dilation spreads the line one pixel right; past the edge is background.
    np.testing.assert_array_equal(styled[0, :, :2, 0], 0.0)
    np.testing.assert_array_equal(styled[0, :, 2:, 0], 1.0)
    np.testing.assert_array_equal(outline(np.zeros((2, 28, 28, 1))), 1.0)  # blank: all white


def test_outline_is_deterministic_and_per_image():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 28, 28, 1)).astype("float32")
    first = outline(x)
    np.testing.assert_array_equal(first, outline(x.copy()))
    np.testing.assert_array_equal(first[2:3], outline(x[2:3]))  # no mixing across the batch
    assert 0.0 <= first.min() and first.max() <= 1.0


@pytest.mark.parametrize("bad, message", [
    (np.full((2, 28, 28, 1), 255, "uint8"), "values up to 255"),
    (np.full((2, 28, 28, 1), np.nan, "float32"), "NaN"),
    (np.zeros((2, 28, 28, 3), "float32"), "3 channels"),
    (np.zeros((28, 28), "float32"), "4-D"),
    (np.zeros((0, 28, 28, 1), "float32"), "empty batch"),
    ("digits", "integers or floats"),
])
def test_outline_refuses_what_is_not_grey_images_in_0_1(bad, message):
    with pytest.raises(InputError, match=message):
        outline(bad)


# The unpaired split --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 7, 60000])
def test_halves_are_disjoint_cover_everything_and_are_seeded(n):
    a, b = halves(n)
    assert len(a) == n // 2 and len(b) == n - n // 2
    assert not set(a.tolist()) & set(b.tolist())
    np.testing.assert_array_equal(np.sort(np.concatenate([a, b])), np.arange(n))
    again = halves(n)
    np.testing.assert_array_equal(a, again[0])
    np.testing.assert_array_equal(b, again[1])
    if n > 10:
        assert not np.array_equal(a, halves(n, seed=1)[0])


def test_unpaired_styled_keeps_one_half_and_outlines_the_other():
    rng = np.random.default_rng(1)
    x = (rng.uniform(size=(11, 28, 28, 1)) ** 4).astype("float32")
    a, b = unpaired_styled(x)
    index_a, index_b = halves(11)
    np.testing.assert_array_equal(a, x[index_a])
    np.testing.assert_array_equal(b, outline(x[index_b]))
    repeat = unpaired_styled(x)
    np.testing.assert_array_equal(a, repeat[0])
    np.testing.assert_array_equal(b, repeat[1])
    # Every image of A is one of x's and none of them is an image B was made from.
    a_rows, b_sources = {r.tobytes() for r in a}, {r.tobytes() for r in x[index_b]}
    assert len(a_rows) == len(a) and not a_rows & b_sources


def test_unpaired_styled_checks_its_inputs_and_the_style():
    with pytest.raises(InputError, match="at least 2 images"):
        unpaired_styled(np.zeros((1, 28, 28, 1), "float32"))
    with pytest.raises(InputError, match="n >= 2"):
        halves(1)
    with pytest.raises(InputError, match="values up to 255"):
        unpaired_styled(np.full((4, 28, 28, 1), 255, "uint8"))
    with pytest.raises(InputError, match="styled images"):
        unpaired_styled(np.zeros((4, 28, 28, 1), "float32"), style=lambda x: 2.0 + x)


# The recipe ------------------------------------------------------------------------------------------------


@pytest.mark.one_backend("torch")
def test_quick_outline_recipe_scores_translations_against_the_true_outlines(tmp_path, mnist_test):
    recipe = load_recipe("cyclegan_mnist_outline")
    out, results = tmp_path / "cyclegan_mnist_outline", tmp_path / "cyclegan_mnist_outline.json"
    recipe.main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results)])

    data = json.loads(results.read_text())
    assert data["quick"] and data["backend"] == keras.backend.backend() and data["steps"] == 10
    assert data["domains"] == {"a": 512, "b": 512, "test": 256}
    # The baselines are what they claim: recomputed here from the same 256 test digits.
    x, y = mnist_test[0][:256], mnist_test[1][:256]
    styled, base = outline(x), data["baselines"]
    assert base["identity_l1"] == pytest.approx(np.abs(x - styled).mean(), abs=1e-4)
    assert base["inversion_l1"] == pytest.approx(np.abs(1 - x - styled).mean(), abs=1e-4)
    assert base["inversion_psnr"] == pytest.approx(-10 * np.log10(((1 - x - styled) ** 2).mean(axis=(1, 2, 3))).mean(),
                                                   abs=1e-3)
    assert base["inversion_l1"] < base["identity_l1"]  # inverting is part of the job, not all of it
    mnistnet = zoo.load("mnistnet", compile=False)
    assert base["accuracy_real"] == pytest.approx(np.mean(mnistnet.predict_labels(x) == y), abs=1e-4)
    assert base["accuracy_untranslated"] < base["accuracy_real"] - 0.5  # outlines are not MNIST to mnistnet
    metrics = data["metrics"]
    for key in ("l1_a2b", "l1_b2a", "cycle_l1_a2b", "cycle_l1_b2a", "accuracy_b2a"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert np.isfinite(metrics["psnr_a2b"]) and np.isfinite(metrics["psnr_b2a"])
    for picture in data["pictures"]:  # rows: input, translation, reconstruction, truth; 16 digits each
        assert Image.open(tmp_path / picture).size == (16 * 28 + 17 * 2, 4 * 28 + 5 * 2)

    model = zoo.load(out)
    meta = model.zoo_metadata
    assert meta["name"] == "cyclegan_mnist_outline" and {m["key"] for m in meta["metrics"]} == set(metrics)
    assert "identity (x)" in next(m for m in meta["metrics"] if m["key"] == "l1_a2b")["reference"]
    # The registry entry builds what the recipe trains, so the full run's checkpoint will match it.
    built = registry.get("cyclegan_mnist_outline").build()
    assert type(model) is type(built) and [w.shape for w in model.weights] == [w.shape for w in built.weights]
    assert model.translate(x[:3], "b2a").shape == (3, 28, 28, 1)
