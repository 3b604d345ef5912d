"""The convolutional encoder and decoder shared by the autoencoder family (AE, DAE, VAE).

Strided 3x3 convolutions down to a dense hidden layer and linear heads; the
decoder mirrors it with transposed convolutions and ends in logits.
"""

import keras
from keras import layers


def conv_encoder(image_shape, latent_dim, filters=(32, 64), hidden=256, heads=("mean", "log_var")):
    """x -> one `latent_dim` vector per head (a list when there are several heads)."""
    inputs = keras.Input(image_shape)
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    outputs = [layers.Dense(latent_dim, name=head)(x) for head in heads]
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name="encoder")


def conv_decoder(image_shape, latent_dim, filters=(32, 64), hidden=256):
    """z -> per-pixel logits: the encoder mirrored with transposed convolutions."""
    height, width, channels = image_shape
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise ValueError(f"image height and width must be multiples of {scale}; got {image_shape}")
    inputs = keras.Input((latent_dim,))
    x = layers.Dense(hidden, activation="relu", name="hidden")(inputs)
    x = layers.Dense((height // scale) * (width // scale) * filters[-1], activation="relu", name="project")(x)
    x = layers.Reshape((height // scale, width // scale, filters[-1]))(x)
    for i, f in enumerate(reversed(filters)):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"deconv_{i}")(x)
    logits = layers.Conv2D(channels, 3, padding="same", name="logits")(x)
    return keras.Model(inputs, logits, name="decoder")
