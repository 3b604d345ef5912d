"""One module per method family. Importing this registers every zoo class with Keras."""

from zoo.models.autoencoder import Autoencoder
from zoo.models.classical import LDA, PCA  # noqa: F401  registers them for zoo.load
from zoo.models.classifier import DigitClassifier, digit_classifier
from zoo.models.clustering import DEC, VaDE  # noqa: F401  registers them for zoo.load
from zoo.models.completion import ImageCompletion  # noqa: F401  registers it for zoo.load
from zoo.models.cyclegan import CycleGAN  # noqa: F401  registers it for zoo.load
from zoo.models.denoiser import DnCNN  # noqa: F401  registers it for zoo.load
from zoo.models.evolution import Policy  # noqa: F401  registers it for zoo.load
from zoo.models.gan import GAN, WGANGP
from zoo.models.natural_features import NaturalJudge, RotationNet  # noqa: F401  registers them for zoo.load
from zoo.models.progan import ProGAN  # noqa: F401  registers it for zoo.load
from zoo.models.superres import SRGAN, SRResNet  # noqa: F401  registers them for zoo.load
from zoo.models.topics import ProdLDA  # noqa: F401  registers it for zoo.load
from zoo.models.unmt import UNMT  # noqa: F401  registers it for zoo.load
from zoo.models.vae import DFCVAE, VAE

__all__ = ["GAN", "Autoencoder", "DFCVAE", "VAE", "WGANGP", "DigitClassifier", "digit_classifier"]
