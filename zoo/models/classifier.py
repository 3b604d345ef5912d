"""A small digit classifier whose penultimate layer supplies features for sample-quality metrics.

No Inception weights are reachable offline, so Frechet distances and
precision/recall on MNIST-like data (`fid_mnistnet`, `fid_fashionnet`) use the
`features` layer of a classifier the zoo trains itself (the FID of Heusel et
al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017, with this network in place of Inception). Its
labels count the modes of stacked MNIST (Metz et al., "Unrolled GANs", 2017).
"""

import keras
from keras import layers, ops

from zoo.data import check_images
from zoo.trainers import SingleLossModel


def conv_features(image_shape, filters=(32, 64), features_dim=128):
    """Images -> `features_dim` ReLU features: two blocks of a 3x3 and a strided 3x3 convolution."""
    inputs = keras.Input(image_shape)
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv_{i}")(x)
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"down_{i}")(x)
    x = layers.Flatten()(x)
    features = layers.Dense(features_dim, activation="relu", name="features")(x)
    return keras.Model(inputs, features, name="body")


@keras.saving.register_keras_serializable(package="zoo")
class DigitClassifier(SingleLossModel):
    """A conv net classifying images in [0, 1] into `n_classes`; trained with cross-entropy.

    Numpy in, numpy out: `features(x)` (the penultimate layer, for Frechet
    distance and precision/recall), `predict_labels(x)`.
    """

    tracked = ("loss", "accuracy")

    def __init__(self, image_shape=(28, 28, 1), n_classes=10, filters=(32, 64), features_dim=128, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.n_classes = n_classes
        self.filters = tuple(filters)
        self.features_dim = features_dim
        self.body = conv_features(self.image_shape, self.filters, features_dim)
        self.head = layers.Dense(n_classes, name="logits")
        self.head.build((None, features_dim))
        self.built = True

    def call(self, x, training=False):
        return self.head(self.body(x, training=training))

    def compute_terms(self, x, y=None, training=False):
        logits = self(x, training=training)
        labels = ops.cast(ops.reshape(y, (-1,)), "int32")
        loss = ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        accuracy = ops.mean(ops.cast(ops.equal(ops.argmax(logits, axis=-1), labels), "float32"))
        return {"loss": loss, "accuracy": accuracy}

    # Numpy API for users -----------------------------------------------------------------

    def check_inputs(self, x):
        return check_images(x, shape=self.image_shape[:2], channels=self.image_shape[2])

    def features(self, x, batch_size=500):
        """The `features` layer's activations (n, features_dim) for images `x`."""
        return self.body.predict(self.check_inputs(x), batch_size=batch_size, verbose=0)

    def predict_labels(self, x, batch_size=500):
        """The most likely class (n,) of each image."""
        return self.predict(self.check_inputs(x), batch_size=batch_size, verbose=0).argmax(axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "n_classes": self.n_classes,
            "filters": list(self.filters),
            "features_dim": self.features_dim,
        }


def digit_classifier(n_classes=10, **kwargs):
    """A `DigitClassifier` for 28x28 grey images (MNIST, Fashion-MNIST, one channel of stacked MNIST)."""
    return DigitClassifier(image_shape=(28, 28, 1), n_classes=n_classes, **kwargs)
