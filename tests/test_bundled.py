"""Every bundled checkpoint loads with `zoo.load` on the running backend and matches its registry entry.

The suite runs once per backend, so this is the "loads on TensorFlow, JAX and
PyTorch" check for each committed checkpoint; tests/cross_backend compares outputs.
"""

import json

import numpy as np
import pytest

import zoo
from zoo import registry

BUNDLED = sorted(name for name, entry in registry.ENTRIES.items() if entry.checkpoint_dir.is_dir())


def test_every_bundled_folder_has_a_registry_entry():
    folders = {p.name for p in registry.CHECKPOINTS.iterdir() if p.is_dir()}
    assert folders <= set(registry.ENTRIES), folders - set(registry.ENTRIES)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_loads_and_matches_its_entry(name):
    model = zoo.load(name, source="bundled")
    built = registry.get(name).build()
    assert type(model) is type(built)
    assert [w.shape for w in model.weights] == [w.shape for w in built.weights]
    metadata = json.loads((registry.get(name).checkpoint_dir / "metadata.json").read_text())["zoo"]
    assert metadata["name"] == name and metadata["metrics"], "a bundled checkpoint carries what its recipe measured"
    if hasattr(model, "topics"):  # topic models: a caption's topic proportions
        proportions = model.transform(["a dog runs on the grass ."])
        assert proportions.shape == (1, model.num_topics) and np.isclose(proportions.sum(), 1, atol=1e-5)
        return
    if hasattr(model, "act"):  # policies: an action for each observation
        x = np.random.default_rng(0).uniform(-1, 1, size=(4, model.observation_dim)).astype("float32")
        actions = model.act(x)
        assert actions.shape == (4,) and set(actions.tolist()) <= set(range(model.num_actions))
        return
    if hasattr(model, "translate") and not hasattr(model, "image_shape"):  # text translators
        source, target = model.languages
        out = model.translate(["a man is riding a bike ."], src=source, tgt=target)
        assert isinstance(out[0], str)
        return
    if hasattr(model, "translate"):  # image-to-image translators: every direction, not sampling
        x = np.random.default_rng(0).uniform(size=(4, *model.image_shape)).astype("float32")
        out = tuple(model.translate(x, direction) for direction in ("a2b", "b2a"))
    elif hasattr(model, "sample"):
        out = model.sample(4, seed=0)
    else:
        if hasattr(model, "image_shape"):
            shape = model.image_shape
        elif hasattr(model, "data_shape"):
            shape = model.data_shape
        else:  # fully convolutional (the denoiser, super-resolution): any size
            shape = (33, 45, model.channels)
        x = np.random.default_rng(0).uniform(size=(4, *shape)).astype("float32")
        method = next(m for m in ("encode", "features", "denoise", "upscale") if hasattr(model, m))
        out = getattr(model, method)(x)
    for part in out if isinstance(out, tuple) else (out,):
        assert np.all(np.isfinite(part))
