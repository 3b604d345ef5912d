"""Eigenfaces and Fisherfaces: linear projections fitted in closed form.

- PCA (eigenfaces): Turk & Pentland, "Eigenfaces for Recognition", Journal of
  Cognitive Neuroscience 3(1), 1991.
- LDA (fisherfaces): Belhumeur, Hespanha & Kriegman, "Eigenfaces vs.
  Fisherfaces: Recognition Using Class Specific Linear Projection", IEEE TPAMI
  19(7), 1997. PCA first reduces the data to N - c dimensions (N samples, c
  classes), so the within-class scatter is not singular; Fisher's linear
  discriminant then keeps at most c - 1 directions.

Both are `keras.Model`s whose fitted quantities (mean, components, variances)
are non-trainable weights, so they save, load and publish like every zoo
checkpoint. `fit(x, y)` is not gradient descent: it is one closed-form solve
made of `keras.ops.svd` calls, so it runs unchanged on every backend and
device. Identification is 1-nearest-neighbour in code space with Euclidean
distance (`nearest_neighbour`).
"""

import keras
import numpy as np
from keras import ops

from zoo.data import check_images
from zoo.errors import InputError, ZooError

# A within-class singular value below this fraction of the largest means the scatter is singular: about 8
# float32 epsilons. (One random Olivetti split has a genuine ratio of 9.9e-6, the same in float64.)
SINGULAR_TOLERANCE = 1e-6


class NotFittedError(ZooError, ValueError):
    """A PCA or LDA used before `fit` (or before its fitted weights were loaded)."""


def nearest_neighbour(query_codes, gallery_codes, gallery_labels):
    """1-nearest-neighbour labels: each query row takes the label of the closest gallery row (Euclidean).

    Ties go to the first gallery row. Distances are computed with `keras.ops`
    on the running backend. Returns a numpy array of `gallery_labels`' dtype.
    """
    query = _check_codes(query_codes, None, "query_codes")
    gallery = _check_codes(gallery_codes, query.shape[1], "gallery_codes")
    labels = np.asarray(gallery_labels)
    if labels.shape != (len(gallery),):
        raise InputError(f"gallery_labels must have shape ({len(gallery)},), one per gallery row; "
                         f"got shape {labels.shape}.")
    q, g = ops.convert_to_tensor(query), ops.convert_to_tensor(gallery)
    distances = (ops.sum(q * q, axis=1)[:, None] - 2.0 * ops.matmul(q, ops.transpose(g))
                 + ops.sum(g * g, axis=1)[None, :])
    return labels[ops.convert_to_numpy(ops.argmin(distances, axis=1))]


class LinearProjection(keras.Model):
    """codes = (flatten(x) - mean) @ components.T: what PCA and LDA share.

    `data_shape` is one example's shape: `(H, W, C)` images in [0, 1], or `(d,)`
    vectors of any finite values. The weights exist from construction, so a
    saved model loads without data; `fit` fills them in.
    """

    def __init__(self, data_shape=(64, 64, 1), n_components=10, **kwargs):
        super().__init__(**kwargs)
        self.data_shape = _check_data_shape(data_shape)
        self.n_features = int(np.prod(self.data_shape))
        if not _is_positive_int(n_components) or n_components > self.n_features:
            raise ValueError(f"n_components must be an int in [1, {self.n_features}] (the number of features "
                             f"of data_shape {self.data_shape}); got {n_components!r}.")
        self.n_components = int(n_components)
        self.mean = self.add_weight(shape=(self.n_features,), initializer="zeros", trainable=False, name="mean")
        self.components = self.add_weight(shape=(self.n_components, self.n_features), initializer="zeros",
                                          trainable=False, name="components")
        self.n_samples = self.add_weight(shape=(), initializer="zeros", trainable=False, name="n_samples")
        self.built = True

    def call(self, x):
        x = ops.reshape(ops.cast(x, self.mean.dtype), (-1, self.n_features))
        return ops.matmul(x - self.mean, ops.transpose(self.components))

    # Numpy API for users -----------------------------------------------------------------

    @property
    def is_fitted(self):
        return float(ops.convert_to_numpy(self.n_samples)) > 0

    def check_inputs(self, x, name="x"):
        if len(self.data_shape) == 3:
            return check_images(x, shape=self.data_shape[:2], channels=self.data_shape[2], name=name)
        return _check_vectors(x, self.n_features, name)

    def encode(self, x, n_components=None):
        """Codes `(n, k)` of `x` on the first `k = n_components` components (default: all)."""
        k = self._components_to_use(n_components)
        x = self._flat(self.check_inputs(x))
        codes = ops.matmul(ops.convert_to_tensor(x) - self.mean, ops.transpose(self.components[:k]))
        return ops.convert_to_numpy(codes)

    def identify(self, x, gallery, gallery_labels, n_components=None):
        """The label of each image in `x`: its Euclidean nearest neighbour among `gallery`'s codes."""
        gallery_labels = np.asarray(gallery_labels)
        gallery = self.check_inputs(gallery, name="gallery")
        if gallery_labels.shape != (len(gallery),):
            raise InputError(f"gallery_labels must have shape ({len(gallery)},), one per gallery image; "
                             f"got shape {gallery_labels.shape}.")
        return nearest_neighbour(self.encode(x, n_components), self.encode(gallery, n_components), gallery_labels)

    def component_images(self):
        """The components (k, *data_shape): eigenfaces or fisherfaces, each of unit length."""
        self._require_fitted()
        return ops.convert_to_numpy(self.components).reshape((self.n_components,) + self.data_shape)

    def mean_image(self):
        """The mean of the fitted data, shaped like one example (the mean face)."""
        self._require_fitted()
        return ops.convert_to_numpy(self.mean).reshape(self.data_shape)

    def get_config(self):
        return {**super().get_config(), "data_shape": list(self.data_shape), "n_components": self.n_components}

    # Shared pieces -------------------------------------------------------------------------

    def _require_fitted(self):
        if not self.is_fitted:
            fit = "fit(x)" if isinstance(self, PCA) else "fit(x, y)"
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call {fit} first, "
                                 "or load a fitted checkpoint with zoo.load.")

    def _components_to_use(self, n_components):
        self._require_fitted()
        if n_components is None:
            return self.n_components
        if not _is_positive_int(n_components) or n_components > self.n_components:
            raise InputError(f"n_components must be an int in [1, {self.n_components}] (this "
                             f"{type(self).__name__} keeps {self.n_components}); got {n_components!r}.")
        return int(n_components)

    def _flat(self, x):
        return x.reshape(len(x), self.n_features)

    def _start_fit(self, x, kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}.fit is a closed-form solve, not gradient training; it takes "
                            f"no Keras training arguments (got {', '.join(sorted(kwargs))}).")
        x = self._flat(self.check_inputs(x))
        if len(x) < 2:
            raise InputError(f"{type(self).__name__}.fit needs at least 2 examples; got {len(x)}.")
        return ops.convert_to_tensor(x)

    def _store(self, mean, components, n_samples):
        self.mean.assign(mean)
        self.components.assign(_fix_signs(components))
        self.n_samples.assign(float(n_samples))


@keras.saving.register_keras_serializable(package="zoo")
class PCA(LinearProjection):
    """Principal component analysis of flattened inputs; on faces its components are the eigenfaces.

    After `fit(x)`: `mean`, `components` (orthonormal rows, by decreasing
    variance), `explained_variance` (per component, with the n - 1 divisor) and
    `total_variance`. Numpy API: `encode(x, n_components)`, `decode(z)`,
    `reconstruct(x, n_components)`, `identify(x, gallery, labels)`,
    `explained_variance_ratio()`. Each component's sign is fixed so that its
    largest-magnitude entry is positive, so every backend gives the same weights.
    """

    def __init__(self, data_shape=(64, 64, 1), n_components=10, **kwargs):
        super().__init__(data_shape, n_components, **kwargs)
        self.explained_variance = self.add_weight(shape=(self.n_components,), initializer="zeros",
                                                  trainable=False, name="explained_variance")
        self.total_variance = self.add_weight(shape=(), initializer="zeros", trainable=False, name="total_variance")

    def fit(self, x, y=None, **kwargs):
        """Fit on `x` (`y` is ignored): the SVD of the centred data; returns self."""
        x = self._start_fit(x, kwargs)
        n = int(x.shape[0])
        limit = min(n, self.n_features)
        if self.n_components > limit:
            raise InputError(f"this PCA keeps n_components={self.n_components}, but {n} examples of "
                             f"{self.n_features} features have at most min(n_samples, n_features) = {limit} "
                             f"principal components. Build a PCA with n_components <= {limit}, or fit more data.")
        mean = ops.mean(x, axis=0)
        _, singular_values, vh = ops.svd(x - mean, full_matrices=False)
        variance = ops.square(singular_values) / (n - 1)
        self._store(mean, vh[: self.n_components], n)
        self.explained_variance.assign(variance[: self.n_components])
        self.total_variance.assign(ops.sum(variance))
        return self

    def explained_variance_ratio(self):
        """The share of the data's total variance along each component, (n_components,)."""
        self._require_fitted()
        return ops.convert_to_numpy(self.explained_variance / self.total_variance)

    def decode(self, z):
        """Inputs `(n, *data_shape)` rebuilt from codes `(n, k)` on the first k components; not clipped."""
        self._require_fitted()
        z = _check_codes(z, None, "z")
        k = self._components_to_use(z.shape[1])
        x = ops.matmul(ops.convert_to_tensor(z), self.components[:k]) + self.mean
        return ops.convert_to_numpy(x).reshape((len(z),) + self.data_shape)

    def reconstruct(self, x, n_components=None):
        """`decode(encode(x, n_components))`: the projection of `x` on the first components, plus the mean."""
        return self.decode(self.encode(x, n_components))


@keras.saving.register_keras_serializable(package="zoo")
class LDA(LinearProjection):
    """Fisherfaces (Belhumeur et al. 1997): PCA to N - c dimensions, then Fisher's linear discriminant.

    `fit(x, y)` finds at most c - 1 directions maximising between-class over
    within-class scatter. `components` are those directions in input space,
    each scaled to unit length as in the paper's fisherfaces, ordered by
    decreasing Fisher ratio (`fisher_ratio`, the generalised eigenvalues).
    Codes are projections on them, and `identify` compares codes with
    Euclidean distance. (Scaling them instead so that the within-class
    covariance is the identity, as scikit-learn's `transform` does, lets the
    directions of smallest training scatter dominate distances.)

    `pca_components` sets the PCA dimension; `None` is the paper's N - c. It
    must not exceed N - c, or the within-class scatter is singular.
    """

    def __init__(self, data_shape=(64, 64, 1), n_components=39, pca_components=None, **kwargs):
        super().__init__(data_shape, n_components, **kwargs)
        if pca_components is not None and (not _is_positive_int(pca_components)
                                           or not n_components <= pca_components <= self.n_features):
            raise ValueError(f"pca_components must be None (N - c) or an int in [n_components={n_components}, "
                             f"{self.n_features}]; got {pca_components!r}.")
        self.pca_components = None if pca_components is None else int(pca_components)
        self.fisher_ratio = self.add_weight(shape=(self.n_components,), initializer="zeros", trainable=False,
                                            name="fisher_ratio")

    def fit(self, x, y=None, **kwargs):
        """Fit on `x` with class labels `y` (n,); returns self."""
        x = self._start_fit(x, kwargs)
        n = int(x.shape[0])
        if y is None:
            raise InputError("LDA.fit needs class labels: call fit(x, y) with y of shape (n,).")
        classes, one_hot = _one_hot_labels(y, n)
        c = len(classes)
        if c < 2:
            raise InputError(f"LDA needs at least 2 classes; y holds only {classes.tolist()}.")
        if self.n_components > c - 1:
            raise InputError(f"this LDA keeps n_components={self.n_components}, but {c} classes give at most "
                             f"c - 1 = {c - 1} discriminant directions. Build an LDA with n_components <= {c - 1}.")
        most = min(n - c, self.n_features)
        m = most if self.pca_components is None else self.pca_components
        if not self.n_components <= m <= most:
            raise InputError(
                f"{n} examples in {c} classes of {self.n_features} features allow a PCA stage of at most "
                f"min(N - c, n_features) = {most} dimensions, and LDA needs at least n_components = "
                f"{self.n_components}; pca_components is {m}. Fit more examples per class, or lower "
                "n_components / pca_components.")

        # PCA to m dimensions: y_i = P (x_i - mean).
        mean = ops.mean(x, axis=0)
        centred = x - mean
        _, _, vh = ops.svd(centred, full_matrices=False)
        pca = vh[:m]
        reduced = ops.matmul(centred, ops.transpose(pca))
        # Within-class scatter S_W = R^T R and between-class S_B = B^T B, never formed: the SVD of R
        # whitens S_W with half the condition number, which float32 needs.
        one_hot = ops.convert_to_tensor(one_hot, dtype=x.dtype)
        counts = ops.sum(one_hot, axis=0)
        class_means = ops.matmul(ops.transpose(one_hot), reduced) / counts[:, None]
        within = reduced - ops.matmul(one_hot, class_means)
        _, s_within, v_within = ops.svd(within, full_matrices=False)
        s_within = ops.convert_to_numpy(s_within)
        if s_within[-1] <= SINGULAR_TOLERANCE * s_within[0]:
            raise InputError(
                f"the within-class scatter is singular after PCA to {m} dimensions (smallest/largest singular "
                f"value {s_within[-1] / s_within[0]:.2e}): the data has fewer independent directions than that. "
                "Set pca_components lower, or remove duplicate or constant features.")
        whiten = ops.transpose(v_within) / ops.convert_to_tensor(s_within)[None, :]  # S_W^{-1/2}, rotated
        between = ops.sqrt(counts)[:, None] * class_means
        _, s_between, v_between = ops.svd(ops.matmul(between, whiten), full_matrices=False)
        directions = ops.matmul(ops.matmul(ops.transpose(pca), whiten),
                                ops.transpose(v_between[: self.n_components]))  # (n_features, k)
        directions = directions / ops.sqrt(ops.sum(ops.square(directions), axis=0, keepdims=True))
        self._store(mean, ops.transpose(directions), n)
        self.fisher_ratio.assign(ops.square(s_between[: self.n_components]))
        return self

    def get_config(self):
        return {**super().get_config(), "pca_components": self.pca_components}


def eigenfaces_olivetti():
    """The `pca_olivetti` architecture: 200 eigenfaces of 64x64 grey faces."""
    return PCA(data_shape=(64, 64, 1), n_components=200)


def fisherfaces_olivetti():
    """The `lda_olivetti` architecture: 39 fisherfaces (40 people) of 64x64 grey faces."""
    return LDA(data_shape=(64, 64, 1), n_components=39)


def _fix_signs(rows):
    """Flip each row so its largest-magnitude entry is positive: one answer on every backend."""
    pivots = ops.take_along_axis(rows, ops.argmax(ops.abs(rows), axis=1)[:, None], axis=1)
    return rows * ops.where(pivots < 0, -1.0, 1.0)


def _check_data_shape(data_shape):
    try:
        shape = tuple(int(d) for d in data_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) not in (1, 3) or min(shape) < 1 or shape != tuple(data_shape):
        raise ValueError(f"data_shape must be (d,) for vectors or (H, W, C) for images, positive ints; "
                         f"got {data_shape!r}.")
    return shape


def _check_vectors(x, n_features, name):
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a numeric array (n, {n_features}); numpy cannot convert it: {e}") from e
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise InputError(f"{name} must hold integers or floats; got dtype {x.dtype} with shape {x.shape}.")
    if x.ndim != 2 or x.shape[1] != n_features or len(x) == 0:
        raise InputError(f"{name} must have shape (n, {n_features}) with n >= 1; got {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name} holds NaN or infinite values; expected finite numbers.")
    return x.astype("float32", copy=False)


def _check_codes(z, width, name):
    try:
        z = np.asarray(z, dtype="float32")
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a numeric array of codes (n, k); numpy cannot convert it: {e}") from e
    if z.ndim != 2 or 0 in z.shape or (width is not None and z.shape[1] != width):
        expected = f"(n, {width})" if width is not None else "(n, k)"
        raise InputError(f"{name} must be codes of shape {expected} with n, k >= 1; got {z.shape}.")
    if not np.all(np.isfinite(z)):
        raise InputError(f"{name} holds NaN or infinite values.")
    return z


def _one_hot_labels(y, n):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,):
        raise InputError(f"y must hold one class label per example, shape ({n},); got shape {y.shape}.")
    if y.dtype.kind not in "iuUS":
        raise InputError(f"y must hold integer or string class labels; got dtype {y.dtype}. "
                         "Cast float labels with y.astype(int).")
    classes, index = np.unique(y, return_inverse=True)
    return classes, np.eye(len(classes), dtype="float32")[index]


def _is_positive_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
