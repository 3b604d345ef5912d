"""Building blocks shared by several model families."""

from zoo.layers.conv import conv_decoder, conv_encoder

__all__ = ["conv_decoder", "conv_encoder"]
