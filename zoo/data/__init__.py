"""Data in the layout zoo models expect: float32 NHWC images in [0, 1].

- `load("mnist", "train")`: a TFDS dataset. On an offline machine the files
  under `$ZOO_DATA_DIR` are imported once into the TFDS data dir.
- `from_folder(path)`: a folder of the user's image files; `read_image_file(path)`: one.
- `check_images(x)`: validates an array a user hands to a model.

TensorFlow is imported only when `load` is called.
"""

from zoo.data.datasets import load
from zoo.data.images import check_images, from_folder, read_image_file
from zoo.data.usps import load_usps

__all__ = ["check_images", "from_folder", "load", "load_usps", "read_image_file"]
