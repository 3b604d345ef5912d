"""keras-zoo: unsupervised and generative models for Keras 3 on TensorFlow, JAX and PyTorch.

    import zoo
    vae = zoo.load("vae_mnist")     # bundled checkpoint, loaded in Keras safe mode
    images = vae.sample(16, seed=0)
    vae.fit(my_images, epochs=5)    # plain Keras fine-tuning
    zoo.publish(vae, "my-org/my-vae")
"""

__version__ = "0.1.0"

__all__ = ["__version__", "list_models", "load", "publish"]


def __getattr__(name):
    # Imported on first use, so `import zoo` stays light (Keras loads its backend then).
    if name in ("load", "list_models"):
        from zoo import api

        return getattr(api, name)
    if name == "publish":
        from zoo.hub import publish

        return publish
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
