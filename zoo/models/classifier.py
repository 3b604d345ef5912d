"""A small digit classifier whose penultimate layer supplies features for sample-quality metrics.

No Inception weights are reachable offline, so Frechet distances and
precision/recall on MNIST-like data (`fid_mnistnet`, `fid_fashionnet`) use the
`features` layer of a classifier the zoo trains itself (the FID of Heusel et
al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017, with this network in place of Inception). Its
labels count the modes of stacked MNIST (Metz et al., "Unrolled GANs", 2017).
"""

import keras
from keras import layers

from zoo.data import check_images
from zoo.losses import classification_terms
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


def residual_features(image_shape, filters=(32, 64, 128), features_dim=128, dropout=0.0):
    """Images -> `features_dim` ReLU features through residual blocks (He et al. 2016) with BatchNorm, the first
    at full resolution and each next one strided, then global average pooling: another architecture than
    `conv_features`, for the judges, so that a judge shares no weights or design with the networks that
    training may use."""
    inputs = keras.Input(image_shape)
    x = layers.Conv2D(filters[0], 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.ReLU()(layers.BatchNormalization(name="stem_bn")(x))
    for i, f in enumerate(filters):
        stride = 1 if i == 0 else 2
        shortcut = x
        if stride != 1 or x.shape[-1] != f:
            shortcut = layers.BatchNormalization(name=f"block_{i}_project_bn")(
                layers.Conv2D(f, 1, strides=stride, use_bias=False, name=f"block_{i}_project")(x))
        y = layers.Conv2D(f, 3, strides=stride, padding="same", use_bias=False, name=f"block_{i}_conv_a")(x)
        y = layers.ReLU()(layers.BatchNormalization(name=f"block_{i}_bn_a")(y))
        y = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"block_{i}_conv_b")(y)
        y = layers.BatchNormalization(name=f"block_{i}_bn_b")(y)
        x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    features = layers.Dense(features_dim, activation="relu", name="features")(x)
    return keras.Model(inputs, features, name="body")


ARCHITECTURES = {"plain": conv_features, "residual": residual_features}


@keras.saving.register_keras_serializable(package="zoo")
class DigitClassifier(SingleLossModel):
    """A conv net classifying images in [0, 1] into `n_classes`; trained with cross-entropy.

    Numpy in, numpy out: `features(x)` (the penultimate layer, for Frechet
    distance and precision/recall), `predict_labels(x)`. `architecture` is
    "plain" (`conv_features`: mnistnet, fashionnet, uspsnet) or "residual"
    (`residual_features`: the judges, `zoo.metrics.judges`).
    """

    tracked = ("loss", "accuracy")

    def __init__(self, image_shape=(28, 28, 1), n_classes=10, filters=(32, 64), features_dim=128,
                 architecture="plain", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}; got {architecture!r}")
        if architecture == "plain" and dropout:
            raise ValueError("dropout is an option of the residual architecture only")
        self.image_shape = tuple(image_shape)
        self.n_classes = n_classes
        self.filters = tuple(filters)
        self.features_dim = features_dim
        self.architecture = architecture
        self.dropout = float(dropout)
        extra = {"dropout": self.dropout} if architecture == "residual" else {}
        self.body = ARCHITECTURES[architecture](self.image_shape, self.filters, features_dim, **extra)
        self.head = layers.Dense(n_classes, name="logits")
        self.head.build((None, features_dim))
        self.built = True

    def call(self, x, training=False):
        return self.head(self.body(x, training=training))

    def compute_terms(self, x, y=None, training=False):
        return classification_terms(self(x, training=training), y)

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
            "architecture": self.architecture,
            "dropout": self.dropout,
        }


def digit_classifier(n_classes=10, **kwargs):
    """A `DigitClassifier` for 28x28 grey images (MNIST, Fashion-MNIST, one channel of stacked MNIST)."""
    return DigitClassifier(image_shape=(28, 28, 1), n_classes=n_classes, **kwargs)


def digit_judge(n_classes=10):
    """The judges' network for 28x28 grey images: residual, 16-32-64 filters (`residual_features`)."""
    return DigitClassifier(image_shape=(28, 28, 1), n_classes=n_classes, filters=(16, 32, 64), architecture="residual")


def face_classifier(n_classes=40):
    """The zoo's feature network for 64x64 grey faces (facenet): `conv_features` with three blocks, 32-64-128
    filters, the plain design of the digit networks (never the judges')."""
    return DigitClassifier(image_shape=(64, 64, 1), n_classes=n_classes, filters=(32, 64, 128))


def face_judge(n_classes=40):
    """The identity judge for 64x64 grey Olivetti faces: residual, four stages, dropout before the features."""
    return DigitClassifier(image_shape=(64, 64, 1), n_classes=n_classes, filters=(16, 32, 64, 128),
                           architecture="residual", dropout=0.3)
