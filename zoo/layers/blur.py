"""A fixed binomial blur, to put before a strided convolution (anti-aliased downsampling).

Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019: low-pass filtering before
subsampling removes the aliasing of strided convolutions. It also matters backwards: the gradient of a strided
convolution with respect to its input is a transposed convolution, whose uneven overlap puts energy on the
stride's grid (Odena, Dumoulin & Olah, Distill 2016); the blur's transpose, itself, zeroes the period-2
frequency and halves the period-4 one at each resolution, so a generator trained against the network sees no
checkerboard in its gradient.
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class Blur(keras.layers.Layer):
    """Each channel convolved with the normalised 3x3 binomial filter [1, 2, 1]^T [1, 2, 1] / 16, stride 1, zero
    "same" padding; no weights."""

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"Blur needs a known number of channels (the last axis); got input shape {input_shape}")
        row = np.array([1.0, 2.0, 1.0]) / 4.0
        kernel = np.outer(row, row)[:, :, None, None] * np.ones((1, 1, int(channels), 1))
        self.kernel = ops.convert_to_tensor(kernel.astype("float32"))
        self.built = True

    def call(self, x):
        return ops.depthwise_conv(x, ops.cast(self.kernel, x.dtype), strides=1, padding="same")

    def compute_output_shape(self, input_shape):
        return input_shape
