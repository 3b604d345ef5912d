"""Tests of zoo.viz: grid layout, padding, input checks and PNG files."""

import numpy as np
import pytest
from PIL import Image

from zoo import viz

pytestmark = pytest.mark.backend_free


def constant_images(values, height=3, width=5, channels=1):
    return np.stack([np.full((height, width, channels), v) for v in values])


def test_grid_places_each_image_in_its_cell():
    images = constant_images([0.0, 0.2, 0.4, 0.8])
    grid = viz.image_grid(images, nrow=2, padding=2, pad_value=0.5)

    assert grid.dtype == np.uint8
    assert grid.shape == (2 * 3 + 3 * 2, 2 * 5 + 3 * 2, 1)
    cells = {(2, 2): 0, (2, 9): 51, (7, 2): 102, (7, 9): 204}
    padding = np.ones(grid.shape[:2], dtype=bool)
    for (top, left), value in cells.items():
        np.testing.assert_array_equal(grid[top : top + 3, left : left + 5], value)
        padding[top : top + 3, left : left + 5] = False
    np.testing.assert_array_equal(grid[padding], 128)


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((5, 4, 6, 3), (2 * 4 + 3 * 2, 3 * 6 + 4 * 2, 3)),  # nrow = ceil(sqrt(5)) = 3
        ((4, 4, 6), (2 * 4 + 3 * 2, 2 * 6 + 3 * 2, 1)),  # (n, H, W) stays grey
        ((1, 4, 6, 1), (4 + 2 * 2, 6 + 2 * 2, 1)),
    ],
)
def test_grid_shape(shape, expected):
    assert viz.image_grid(np.zeros(shape)).shape == expected


def test_grid_leaves_missing_cells_at_pad_value_and_keeps_colour():
    red = np.zeros((3, 2, 2, 3))
    red[..., 0] = 1.0
    grid = viz.image_grid(red, nrow=2, padding=1, pad_value=1.0)

    assert grid.shape == (2 * 2 + 3, 2 * 2 + 3, 3)
    np.testing.assert_array_equal(grid[1:3, 1:3], [[[255, 0, 0]] * 2] * 2)
    np.testing.assert_array_equal(grid[4:6, 4:6], 255)  # the fourth cell is empty


@pytest.mark.parametrize(
    "images, message",
    [
        (np.full((2, 4, 4, 1), np.nan), "NaN"),
        (np.full((2, 4, 4, 1), 1.5), r"\[0, 1\]"),
        (np.full((2, 4, 4, 3), -0.1), r"\[0, 1\]"),
        (np.full((2, 4, 4, 1), 255, dtype=np.uint8), r"divide uint8 images by 255"),
        (np.zeros((2, 4, 4, 2)), r"\(2, 4, 4, 2\)"),
        (np.zeros((4, 4)), r"\(4, 4\)"),
        (np.zeros((0, 4, 4, 1)), r"\(0, 4, 4, 1\)"),
    ],
)
def test_grid_rejects_bad_images(images, message):
    with pytest.raises(ValueError, match=message):
        viz.image_grid(images)


def test_grid_rejects_bad_arguments():
    with pytest.raises(ValueError, match="nrow"):
        viz.image_grid(np.zeros((2, 4, 4)), nrow=0)
    with pytest.raises(ValueError, match="padding"):
        viz.image_grid(np.zeros((2, 4, 4)), padding=-1)
    with pytest.raises(ValueError, match="pad_value"):
        viz.image_grid(np.zeros((2, 4, 4)), pad_value=2.0)


@pytest.mark.parametrize("channels, mode", [(1, "L"), (3, "RGB")])
def test_save_image_grid_writes_png(tmp_path, channels, mode):
    images = np.random.default_rng(0).uniform(size=(6, 7, 5, channels))
    path = tmp_path / "new" / "folder" / "grid.png"

    assert viz.save_image_grid(images, path, nrow=3) == path
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.mode == mode
        assert image.size == (3 * 5 + 4 * 2, 2 * 7 + 3 * 2)  # (width, height)
        pixels = np.asarray(image)
    expected = viz.image_grid(images, nrow=3)
    np.testing.assert_array_equal(pixels, expected[..., 0] if channels == 1 else expected)
    assert sorted(p.name for p in path.parent.iterdir()) == ["grid.png"]


def test_interrupted_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "grid.png"
    path.write_bytes(b"old picture")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr("zoo.io.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        viz.save_image_grid(np.zeros((2, 4, 4)), path)
    assert path.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_save_rows_stacks_batches_as_rows(tmp_path):
    inputs = np.zeros((4, 3, 5))  # grey, shown in colour next to a colour row
    outputs = np.ones((4, 3, 5, 3))
    path = viz.save_rows([inputs, outputs], tmp_path / "rows.png", padding=1)

    with Image.open(path) as image:
        pixels = np.asarray(image)
    assert pixels.shape == (2 * 3 + 3, 4 * 5 + 5, 3)
    np.testing.assert_array_equal(pixels[1:4, 1:21:6], 0)  # first row: inputs
    np.testing.assert_array_equal(pixels[5:8, 1:21:6], 255)  # second row: outputs
    np.testing.assert_array_equal(pixels[4], 255)  # padding between the rows


def test_save_rows_rejects_mismatched_batches(tmp_path):
    with pytest.raises(ValueError, match=r"rows\[1\] has shape \(3, 4, 4, 1\)"):
        viz.save_rows([np.zeros((4, 4, 4)), np.zeros((3, 4, 4))], tmp_path / "rows.png")
    with pytest.raises(ValueError, match="at least one"):
        viz.save_rows([], tmp_path / "rows.png")


def pixels_of(image, colour):
    """Coordinates (y, x) of the pixels of exactly `colour`."""
    return np.argwhere(np.all(image == np.array(colour, dtype=np.uint8), axis=-1))


def test_scatter_png_colours_points_by_label(tmp_path):
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 0.05, (50, 2)), rng.normal(1, 0.05, (50, 2))])
    labels = np.repeat([0, 1], 50)
    path = viz.scatter_png(points, labels, tmp_path / "code.png", title="2-D code")

    with Image.open(path) as image:
        assert image.size == (640, 640)
        pixels = np.asarray(image.convert("RGB"))
    plot = pixels[:, : int(0.85 * 640)]  # leaves out the legend on the right
    low, high = pixels_of(plot, viz.PALETTE[0]), pixels_of(plot, viz.PALETTE[1])
    assert len(low) > 0 and len(high) > 0
    assert low[:, 0].mean() > 400 and low[:, 1].mean() < 240  # bottom left
    assert high[:, 0].mean() < 240 and high[:, 1].mean() > 400  # top right
    assert len(pixels_of(pixels, viz.PALETTE[2])) == 0  # no third label, no third colour
    legend = pixels[:, int(0.85 * 640) :]
    assert len(pixels_of(legend, viz.PALETTE[0])) > 0 and len(pixels_of(legend, viz.PALETTE[1])) > 0


@pytest.mark.parametrize(
    "points, labels, message",
    [
        (np.zeros((5, 3)), np.zeros(5, int), r"\(n, 2\).*\(5, 3\)"),
        (np.zeros((5, 2)), np.zeros(4, int), r"\(5,\).*\(4,\)"),
        (np.full((5, 2), np.nan), np.zeros(5, int), "finite"),
        (np.zeros((11, 2)), np.arange(11), "at most 10"),
        (np.zeros((5, 2)), np.zeros(5), "integer or string"),
    ],
)
def test_scatter_png_rejects_bad_input(tmp_path, points, labels, message):
    with pytest.raises(ValueError, match=message):
        viz.scatter_png(points, labels, tmp_path / "code.png")
    assert not (tmp_path / "code.png").exists()
