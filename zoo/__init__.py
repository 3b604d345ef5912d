"""keras-zoo: unsupervised and generative models for Keras 3 on TensorFlow, JAX and PyTorch.

    import zoo
    vae = zoo.load("vae_mnist")     # bundled checkpoint, loaded in Keras safe mode
    images = vae.sample(16, seed=0)
    vae.fit(my_images, epochs=5)    # plain Keras fine-tuning
"""

__version__ = "0.1.0"

from zoo.api import list_models, load  # noqa: E402

__all__ = ["__version__", "list_models", "load"]
