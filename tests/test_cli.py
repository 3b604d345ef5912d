"""The `zoo` command: each ability from the shell, quiet and fast where it needs no model, and bad input that
exits with status 2 and writes nothing."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT

pytestmark = pytest.mark.backend_free  # the commands' plumbing; the models' methods are tested on every backend


def zoo(*args, stdin=None, backend="tensorflow", cwd=None):
    """The command in a process of its own, as a user runs it."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, input=stdin, timeout=300)


def run(capsys, *args):
    """The command in this process (faster: the backend is loaded once): `(exit status, stdout, stderr)`."""
    from zoo.cli import main

    status = main([str(a) for a in args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_list_info_and_help_import_no_backend():
    code = ("import sys\nfrom zoo.cli import main\n"
            "assert main(['list']) == 0 and main(['list', '--json']) == 0 and main(['info', 'vae_mnist']) == 0\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch')]\n"
            "assert not loaded, loaded[:5]\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "vae_mnist" in result.stdout and "Test NLL" in result.stdout and "usage: zoo" in result.stdout
    listed = zoo("list", "--json")
    assert json.loads(listed.stdout)["mnist_judge"].startswith("Judge only")
    card = json.loads(zoo("info", "dae_bsd", "--json").stdout)
    assert card["name"] == "dae_bsd" and card["metrics"]


def test_translate_text_from_arguments_a_file_and_standard_input(tmp_path, capsys, monkeypatch):
    first = zoo("translate", "unmt_multi30k_en_fr", "--src", "en", "--tgt", "fr", "a dog runs .", "a man sings .")
    assert first.returncode == 0 and first.stderr == "", first.stderr  # quiet: no backend log lines
    lines = first.stdout.splitlines()
    assert len(lines) == 2 and all(lines)
    (tmp_path / "in.txt").write_text("a dog runs .\na man sings .\n")
    status, out, _ = run(capsys, "translate", "unmt_multi30k_en_fr", "--src", "en", "--tgt", "fr", "--file",
                         tmp_path / "in.txt")
    assert status == 0 and out.splitlines() == lines
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("a dog runs .\n"))
    status, out, _ = run(capsys, "translate", "unmt_multi30k_en_fr", "--src", "en", "--tgt", "fr", "--json")
    assert json.loads(out) == [{"source": "a dog runs .", "translation": lines[0]}]


@pytest.fixture
def digits(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.uniform(size=(28, 28)) * 255).astype("uint8")).save(folder / f"{i}.png")
    return folder


def test_images_in_and_out(digits, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(1).uniform(size=(30, 41, 3)) * 255).astype("uint8")).save(photo)
    for args, out in [(("denoise", "dae_bsd", photo, tmp_path / "clean.png"), tmp_path / "clean.png"),
                      (("encode", "ae_mnist", digits, "--out", tmp_path / "codes.npy"), tmp_path / "codes.npy"),
                      (("reconstruct", "vae_mnist", digits, "--out", tmp_path / "grid.png"), tmp_path / "grid.png"),
                      (("translate", "cyclegan_mnist_usps", digits, "--direction", "a2b", "--out", tmp_path / "t.png"),
                       tmp_path / "t.png")]:
        status, _, err = run(capsys, *args)
        assert status == 0, err[-2000:]
        assert out.is_file()
    assert Image.open(tmp_path / "clean.png").size == (41, 30) and Image.open(tmp_path / "clean.png").mode == "RGB"
    assert np.load(tmp_path / "codes.npy").shape == (3, 16)
    assert Image.open(tmp_path / "grid.png").size == (3 * 28 + 4 * 2, 2 * 28 + 3 * 2)


def test_bad_input_exits_with_status_2_and_writes_nothing(digits, tmp_path, capsys):
    alpha = tmp_path / "alpha.png"
    Image.fromarray(np.zeros((8, 8, 4), "uint8")).save(alpha)
    (tmp_path / "taken.png").write_bytes(b"mine")
    for args, message in [
        (("info", "vae_mnsit"), "Did you mean 'vae_mnist'"),
        (("translate", "vae_mnist", "--src", "en", "--tgt", "fr", "x"), "vae_mnist cannot translate"),
        (("translate", "unmt_multi30k_en_fr", "--src", "en", "--tgt", "de", "x"), "tgt='de' is not a language"),
        (("denoise", "dae_bsd", alpha, tmp_path / "out.png"), "has an alpha channel"),
        (("denoise", "dae_bsd", tmp_path / "missing.png", tmp_path / "out.png"), "is not a file"),
        (("denoise", "dae_bsd", alpha, tmp_path / "taken.png"), "taken.png exists; pass --overwrite"),
        (("encode", "dae_bsd", digits, "--out", tmp_path / "c.npy"), "dae_bsd cannot encode"),
        (("encode", "ae_mnist", tmp_path / "none", "--out", tmp_path / "c.npy"), "No folder at"),
        (("reconstruct", "gan_ns_mnist", digits, "--out", tmp_path / "g.png"), "cannot reconstruct"),
    ]:
        status, _, err = run(capsys, *args)
        assert status == 2 and message in err, (args, err[-2000:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha.png", "digits", "taken.png"]
    assert (tmp_path / "taken.png").read_bytes() == b"mine"


def test_fill_completes_the_white_hole_and_refuses_bad_input(tmp_path, capsys):
    from zoo.checkpoints import save_checkpoint
    from zoo.models.completion import ImageCompletion

    model = ImageCompletion(channels=1, image_size=16, local_size=8, hole_sides=(2, 6), width=4,
                            discriminator_width=2)
    model.compile()
    checkpoint = save_checkpoint(model, tmp_path / "fill_tiny", {"name": "fill_tiny", "description": "A tiny one."})
    face, hole, small = tmp_path / "face.png", tmp_path / "hole.png", tmp_path / "small.png"
    pixels = (np.random.default_rng(2).uniform(size=(20, 23)) * 255).astype("uint8")
    Image.fromarray(pixels).save(face)
    white = np.zeros((20, 23), "uint8")
    white[5:12, 6:15] = 255
    Image.fromarray(white).save(hole)
    Image.fromarray(white[:10]).save(small)
    full = tmp_path / "full.png"
    Image.fromarray(np.full((20, 23), 255, "uint8")).save(full)
    status, out, err = run(capsys, "fill", checkpoint, face, hole, tmp_path / "filled.png", "--postprocess")
    assert status == 0 and "63-pixel hole filled" in out, err[-2000:]
    filled = np.asarray(Image.open(tmp_path / "filled.png"))
    assert filled.shape == (20, 23) and np.array_equal(filled[white == 0], pixels[white == 0])
    assert not np.array_equal(filled[white > 0], pixels[white > 0])
    for args, message in [
        ((checkpoint, face, small, tmp_path / "out.png"), "expected one size"),
        ((checkpoint, face, full, tmp_path / "out.png"), "covers the whole"),
        ((checkpoint, face, hole, tmp_path / "filled.png"), "filled.png exists; pass --overwrite"),
        (("dae_bsd", face, hole, tmp_path / "out.png"), "dae_bsd cannot fill"),
    ]:
        status, _, err = run(capsys, "fill", *args)
        assert status == 2 and message in err, (args, err[-2000:])
    assert not (tmp_path / "out.png").exists()


def test_upscale_writes_a_larger_image_and_refuses_bad_input(tmp_path, capsys):
    from zoo.checkpoints import save_checkpoint
    from zoo.models.superres import SRResNet

    model = SRResNet(channels=3, width=4, blocks=1, scale=2)
    model.compile()
    checkpoint = save_checkpoint(model, tmp_path / "sr_tiny", {"name": "sr_tiny", "description": "A tiny SRResNet."})
    photo, alpha = tmp_path / "photo.png", tmp_path / "alpha.png"
    Image.fromarray((np.random.default_rng(2).uniform(size=(20, 23)) * 255).astype("uint8")).save(photo)
    Image.fromarray(np.zeros((12, 12, 4), "uint8")).save(alpha)
    status, out, err = run(capsys, "upscale", checkpoint, photo, tmp_path / "large.png", "--tile", "10")
    assert status == 0 and "upscaled x2" in out, err[-2000:]
    large = Image.open(tmp_path / "large.png")
    assert large.size == (46, 40) and large.mode == "L"  # a grey file through a colour model comes back grey
    for args, message in [
        ((checkpoint, alpha, tmp_path / "out.png"), "has an alpha channel"),
        ((checkpoint, photo, tmp_path / "large.png"), "large.png exists; pass --overwrite"),
        (("dae_bsd", photo, tmp_path / "out.png"), "dae_bsd cannot upscale"),
        ((checkpoint, photo, tmp_path / "out.png", "--tile", "0"), "tile"),
    ]:
        status, _, err = run(capsys, "upscale", *args)
        assert status == 2 and message in err, (args, err[-2000:])
    assert not (tmp_path / "out.png").exists()
