"""Perceptual losses: distances between images measured in the features of a fixed network.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016 (arXiv:1603.08155). A per-pixel loss calls two
images far apart when they differ by a one-pixel shift; the activations of a
trained network are closer to what the images show. With phi_j the
activations (H_j, W_j, C_j) of layer j:

- feature reconstruction (Eq. 2): ||phi_j(y_hat) - phi_j(y)||^2 / (C_j H_j W_j),
  the mean squared difference of the features;
- style reconstruction (Eqs. 3-4): ||G_j(y_hat) - G_j(y)||_F^2 with the Gram
  matrix G_j(x)[c, c'] = sum_{h, w} phi_j(x)[h, w, c] phi_j(x)[h, w, c'] / (C_j H_j W_j).

Both are averaged over the batch and summed over the chosen layers with a
weight each, in float32, in `keras.ops`, so they run on every backend. The
network is frozen: the loss trains the model that makes `y_hat`, never the
judge of closeness itself. The zoo's networks (mnistnet, fashionnet) take grey
28x28 images in [0, 1] as they are; `vgg19_features` wraps ImageNet's VGG19 so
that it does too. A judge (`zoo.metrics.judges`) is refused: the network that
trains a model never also scores it.
"""

import os

import keras
import numpy as np
from keras import ops

from zoo.errors import InputError

# keras.applications.VGG19(include_top=False, weights="imagenet") fetches this file (keras/src/applications/vgg19.py).
VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/vgg19/{VGG19_WEIGHTS_FILE}"
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
# DFC-VAE's two choices of VGG19 layers (Hou et al. 2017, Sec. 3.3): relu1_1, relu2_1, relu3_1 ("VAE-123") and
# relu3_1, relu4_1, relu5_1 ("VAE-345"). Keras fuses each ReLU into its convolution, so relu3_1 is block3_conv1.
VGG19_LAYERS = {
    "123": ("block1_conv1", "block2_conv1", "block3_conv1"),
    "345": ("block3_conv1", "block4_conv1", "block5_conv1"),
}
ZOO_FEATURE_NETS = ("the zoo's own feature networks, zoo.load('mnistnet') and zoo.load('fashionnet') (28x28 grey "
                    "images in [0, 1]), e.g. PerceptualLoss(zoo.load('fashionnet', compile=False), "
                    "['conv_1', 'down_1'])")


def gram_matrix(features):
    """Johnson et al. Eq. 3: `(n, H, W, C)` (or `(n, C)`) features -> `(n, C, C)` Gram matrices / (C H W)."""
    features = ops.cast(features, "float32")
    channels = features.shape[-1]
    positions = int(np.prod(features.shape[1:-1]))  # H * W; 1 for the features of a dense layer
    flat = ops.reshape(features, (-1, positions, channels))
    return ops.einsum("npc,npd->ncd", flat, flat) / float(positions * channels)


def feature_reconstruction_loss(features_true, features_pred):
    """Johnson et al. Eq. 2, averaged over the batch: the mean squared difference of the features."""
    return ops.mean(ops.square(ops.cast(features_pred, "float32") - ops.cast(features_true, "float32")))


def style_reconstruction_loss(features_true, features_pred):
    """Johnson et al. Eq. 4, averaged over the batch: the squared Frobenius distance of the Gram matrices."""
    difference = gram_matrix(features_pred) - gram_matrix(features_true)
    return ops.mean(ops.sum(ops.square(difference), axis=(1, 2)))


def _functional(network):
    """The functional graph of `network` whose layers can be tapped by name."""
    body = getattr(network, "body", None)  # a zoo DigitClassifier (mnistnet, fashionnet) keeps its graph in `body`
    if isinstance(body, keras.Model) and _is_functional(body):
        return body
    if isinstance(network, keras.Model) and _is_functional(network):
        return network
    raise InputError(
        f"the feature network must be a functional Keras model (keras.Model(inputs, outputs), a Sequential model, "
        f"keras.applications.*) or a zoo classifier; got {type(network).__name__} {getattr(network, 'name', '')!r}, "
        f"whose layers cannot be tapped by name. Use {ZOO_FEATURE_NETS}.")


def _is_functional(model):
    try:
        return len(model.inputs) > 0
    except (AttributeError, ValueError):
        return False


def _per_layer(values, names, what, default):
    """`values` (None, a number, a sequence aligned with `names`, or a {name: weight} dict) -> one float per name."""
    if values is None:
        return [float(default)] * len(names)
    if isinstance(values, (int, float)):
        return [float(values)] * len(names)
    if isinstance(values, dict):
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(f"{what} names layers {unknown} that are not among the loss's layers {list(names)}.")
        return [float(values.get(name, 0.0)) for name in names]
    values = [float(v) for v in values]
    if len(values) != len(names):
        raise InputError(f"{what} has {len(values)} values for {len(names)} layers {list(names)}; give one per "
                         "layer, or a {layer name: weight} dict.")
    return values


@keras.saving.register_keras_serializable(package="zoo")
class PerceptualLoss(keras.layers.Layer):
    """Feature-reconstruction and Gram-matrix style loss on a frozen feature network (Johnson et al. 2016).

    Args:
        feature_model: a functional Keras model or a zoo classifier (its `body` is tapped), or a zoo model name
            or checkpoint path (loaded with `zoo.load`). It must take images as the models that use the loss
            make them (the zoo's: float32 in [0, 1]). A judge is refused.
        layers: names of the layers whose activations are compared.
        weights: feature-reconstruction weight of each layer (a number, one per layer, or {name: weight},
            where a layer left out counts 0); default 1 each.
        style_weights: style (Gram) weight of each layer, the same way; default None: no style term.

    `loss(y_true, y_pred)` is a scalar, sum of both terms; `terms(y_true, y_pred)` gives them apart. Use it
    inside a model's loss, or as `model.compile(loss=PerceptualLoss(...))`. It is a layer, so a model that holds
    it saves the network's weights with its own; its config holds the network's architecture (not a name), so
    a saved model stands alone. It is frozen for good: setting `trainable` on it, or on a model holding it,
    leaves its network fixed.
    """

    def __init__(self, feature_model, layers, weights=None, style_weights=None, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        from zoo.metrics.judges import check_not_judge  # here, not at the top: zoo.metrics imports zoo.losses

        if isinstance(feature_model, (str, os.PathLike)):
            import zoo

            feature_model = zoo.load(feature_model, compile=False)
        check_not_judge(feature_model, "a perceptual loss")
        network = _functional(feature_model)
        check_not_judge(network, "a perceptual loss")
        if len(network.inputs) != 1:
            raise InputError(f"the feature network {network.name!r} has {len(network.inputs)} inputs; a perceptual "
                             "loss needs a network with one image input.")
        if isinstance(layers, str):
            layers = [layers]
        self.layer_names = [str(name) for name in layers]
        if not self.layer_names:
            raise InputError("layers is empty; name at least one layer of the feature network to compare at.")
        available = [layer.name for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
        missing = [name for name in self.layer_names if name not in available]
        if missing:
            raise InputError(f"the feature network {network.name!r} has no layer named {missing}; its layers are "
                             f"{available}.")
        self.layer_weights = _per_layer(weights, self.layer_names, "weights", 1.0)
        self.style_weights = None if style_weights is None else _per_layer(
            style_weights, self.layer_names, "style_weights", 0.0)
        outputs = [network.get_layer(name).output for name in self.layer_names]
        name = network.name if network.name.endswith("_features") else f"{network.name}_features"  # a reload's
        self.extractor = keras.Model(network.inputs[0], outputs, name=name)
        self.extractor.trainable = False
        self.image_shape = tuple(self.extractor.inputs[0].shape[1:])
        self._checked_shapes = set()
        self.built = True

    # Frozen for good (the network is the fixed measure of closeness, Johnson et al. Sec. 3.1): a model that holds
    # the loss sets `trainable` on every layer inside it when it is (un)frozen itself.
    @property
    def trainable(self):
        return False

    @trainable.setter
    def trainable(self, value):
        keras.layers.Layer.trainable.fset(self, False)

    def check_input_shape(self, shape):
        """Raise `InputError` unless the feature network can take images of `shape` (H, W, C)."""
        shape = tuple(None if d is None else int(d) for d in shape)
        if shape in self._checked_shapes:
            return
        expected = self.image_shape
        takes = "(" + ", ".join("any" if d is None else str(d) for d in expected) + ")"
        if len(shape) != len(expected) or any(e is not None and s is not None and e != s
                                              for e, s in zip(expected, shape)):
            raise InputError(f"the feature network {self.extractor.name!r} takes images of shape (H, W, C) = "
                             f"{takes}; got images of shape {shape}. Pick a feature network made for these images; "
                             f"there are {ZOO_FEATURE_NETS}.")
        if None in expected and None not in shape:
            try:
                specs = self.extractor.compute_output_spec(keras.KerasTensor((1, *shape)))
                too_small = any(d is not None and d <= 0 for spec in keras.tree.flatten(specs)
                                for d in spec.shape[1:])
            except Exception:  # an op refused the shape: the same error for the user
                too_small = True
            if too_small:
                raise InputError(f"images of shape {shape} are too small for the layers {self.layer_names} of the "
                                 f"feature network {self.extractor.name!r} (its downsampling leaves nothing of "
                                 "them); use larger images or earlier layers.")
        self._checked_shapes.add(shape)

    def _check(self, x, name):
        if isinstance(x, np.ndarray):  # a user's numpy images: NaNs, range and size, as every zoo model checks
            from zoo.data import check_images

            channels = self.image_shape[-1]
            x = check_images(x, channels=channels, name=name)
        if x.shape is not None and len(x.shape) >= 2:
            self.check_input_shape(x.shape[1:])
        return x

    def __call__(self, y_true, y_pred, *args, **kwargs):
        return super().__call__(self._check(y_true, "y_true"), self._check(y_pred, "y_pred"), *args, **kwargs)

    def features(self, x):
        """The activations at `layers` (a list, one tensor each), computed in inference mode."""
        outputs = self.extractor(x, training=False)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def terms(self, y_true, y_pred):
        """`{"feature": ..., "style": ...}`: the weighted sums over the layers (style 0 without style weights)."""
        target = [ops.stop_gradient(f) for f in self.features(y_true)]  # the target is data: no gradient to it
        made = self.features(y_pred)
        feature = sum(w * feature_reconstruction_loss(t, m)
                      for w, t, m in zip(self.layer_weights, target, made) if w)
        style = sum(w * style_reconstruction_loss(t, m)
                    for w, t, m in zip(self.style_weights or [], target, made) if w)
        zero = ops.zeros((), "float32")
        return {"feature": feature + zero, "style": style + zero}

    def call(self, y_true, y_pred):
        terms = self.terms(y_true, y_pred)
        return terms["feature"] + terms["style"]

    def compute_output_spec(self, y_true, y_pred):
        return keras.KerasTensor((), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        return {
            **config,
            "feature_model": keras.saving.serialize_keras_object(self.extractor),
            "layers": list(self.layer_names),
            "weights": list(self.layer_weights),
            "style_weights": None if self.style_weights is None else list(self.style_weights),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["feature_model"] = keras.saving.deserialize_keras_object(config["feature_model"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class ImageNetCaffeInput(keras.layers.Layer):
    """Images in [0, 1] (grey or RGB) -> VGG's input: RGB in 0-255, channels reversed to BGR, ImageNet's mean
    subtracted (what `keras.applications.vgg19.preprocess_input` does to 0-255 RGB images)."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        if x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        return ops.flip(x * 255.0, axis=-1) - ops.convert_to_tensor(self.MEAN_BGR, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


def keras_models_dir():
    """The folder where `keras.utils.get_file(..., cache_subdir="models")` keeps what it downloads."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    if not os.access(home, os.W_OK):  # get_file's own fallback
        home = os.path.join("/tmp", ".keras")
    return os.path.join(home, "models")


def vgg19_features(input_shape=(None, None, 3), weights="imagenet"):
    """`keras.applications.VGG19(include_top=False)` taking images in [0, 1], grey or RGB, of `input_shape`.

    The ImageNet weights are fetched by Keras (once, into ~/.keras/models); offline, where they cannot be, the
    error names the file Keras wanted and where to put it, and points to the zoo's own feature networks.
    `weights` may also be None (random, for tests) or the path of the weights file. Its layers for the
    DFC-VAE (Hou et al. 2017) are `VGG19_LAYERS["123"]` and `VGG19_LAYERS["345"]`.
    """
    if weights == "imagenet":
        try:
            weights = keras.utils.get_file(VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL, cache_subdir="models",
                                           file_hash=VGG19_WEIGHTS_MD5)
        except Exception as e:  # offline, blocked or a damaged download: all leave the user without the weights
            raise InputError(
                f"keras.applications.VGG19(weights='imagenet', include_top=False) needs the file "
                f"{VGG19_WEIGHTS_FILE} from {VGG19_WEIGHTS_URL}, which could not be fetched ({e}). Copy it into "
                f"{keras_models_dir()} (Keras looks for it there first), or pass weights=<path to the file>; "
                f"offline, use {ZOO_FEATURE_NETS}.") from e
    inputs = keras.Input(input_shape)
    preprocessed = ImageNetCaffeInput(name="imagenet_caffe_input")(inputs)
    return keras.applications.VGG19(include_top=False, weights=weights, input_tensor=preprocessed)
