"""One module per method family. Importing this registers every zoo class with Keras."""

from zoo.models.gan import WGANGP
from zoo.models.vae import VAE

__all__ = ["VAE", "WGANGP"]
