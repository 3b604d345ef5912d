"""Building blocks shared by several model families."""

from zoo.layers.blur import Blur
from zoo.layers.conv import conv_decoder, conv_encoder

__all__ = ["Blur", "conv_decoder", "conv_encoder"]
