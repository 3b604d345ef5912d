"""keras-zoo: unsupervised and generative models for Keras 3 on TensorFlow, JAX and PyTorch.

    import zoo
    vae = zoo.load("vae_mnist")     # bundled checkpoint, loaded in Keras safe mode
    images = vae.sample(16, seed=0)
    vae.fit(my_images, epochs=5)    # plain Keras fine-tuning
    zoo.publish(vae, "my-org/my-vae")
"""

import importlib

__version__ = "0.1.0"

__all__ = ["__version__", "list_models", "load", "publish"]
# The modules a user reaches as `zoo.<name>` after `import zoo`, each imported on first use.
SUBMODULES = ("api", "cards", "checkpoints", "cli", "data", "distribute", "errors", "finetune", "hub", "io", "layers",
              "losses", "metrics", "models", "random", "registry", "resume", "text", "trainers", "viz")


def __getattr__(name):
    # Imported on first use, so `import zoo` stays light (Keras loads its backend only when a model needs it).
    if name in ("load", "list_models"):
        from zoo import api

        return getattr(api, name)
    if name == "publish":
        from zoo.hub import publish

        return publish
    if name in SUBMODULES:
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "list_models", "load", "publish", *SUBMODULES])
