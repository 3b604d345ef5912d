"""One module per method family. Importing this registers every zoo class with Keras."""

from zoo.models.classifier import DigitClassifier, digit_classifier
from zoo.models.gan import GAN, WGANGP
from zoo.models.vae import VAE

__all__ = ["GAN", "VAE", "WGANGP", "DigitClassifier", "digit_classifier"]
