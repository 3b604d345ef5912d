"""Fine-tune a zoo model on a folder of the user's images, keeping the best weights.

    zoo finetune vae_mnist --data ./my_images --epochs 5 --out ./my_vae

A held-out split picks the best epoch; `keras.callbacks.BackupAndRestore` keeps
the run resumable: run the same command again after an interruption and it
continues from the last finished epoch. The result is a zoo checkpoint whose
metadata names its parent and carries only what this run measured.
"""

import shutil
import time
from pathlib import Path

import keras
import numpy as np

from zoo.checkpoints import save_checkpoint
from zoo.data import from_folder


def finetune(model_ref, data, out, *, epochs=5, batch_size=64, validation_split=0.1, learning_rate=1e-4,
             resize=False, revision=None, seed=0, overwrite=False, callbacks=(), command=None, verbose="auto",
             standing_batches=500):
    """Fine-tune `model_ref` (name, folder or hf:// id) on the images in `data`; write `out`.

    `callbacks` are added after the backup and best-checkpoint callbacks;
    `command` is recorded in the metadata (the CLI passes its command line).
    A GAN whose generator has BatchNorm then gets standing statistics over
    `standing_batches` batches (`GAN.set_standing_statistics`), as the GAN
    recipes do; 0 keeps the moving averages.
    """
    import zoo

    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; choose another --out or pass overwrite=True (--overwrite).")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1); got {validation_split}")
    model = zoo.load(model_ref, revision=revision)
    if not hasattr(model, "image_shape"):
        raise ValueError(f"{model_ref} does not take images; fine-tuning from a folder needs an image model.")
    height, width, channels = model.image_shape
    images = model.check_inputs(from_folder(data, image_size=(height, width), channels=channels, resize=resize))

    order = np.random.default_rng(seed).permutation(len(images))
    n_val = int(round(validation_split * len(images)))
    if validation_split and not 0 < n_val < len(images):
        raise ValueError(f"{len(images)} images are too few for validation_split={validation_split}")
    x_val, x_train = images[order[:n_val]], images[order[n_val:]]
    # The model names what picks the best epoch (a VAE's loss, BEGAN's M_global); without one
    # (other GANs: their losses do not measure quality) the last epoch is kept.
    selection = getattr(model, "selection_metric", "loss")
    monitor = None if selection is None else ("val_" if n_val else "") + selection

    work = out.with_name(out.name + ".work")  # survives an interruption, removed after success
    weights = work / ("best.weights.h5" if monitor else "last.weights.h5")
    keras.utils.set_random_seed(seed)
    for optimizer in getattr(model.optimizer, "optimizers", None) or [model.optimizer]:
        optimizer.learning_rate = learning_rate
    start = time.time()
    model.fit(
        x_train, batch_size=batch_size, epochs=epochs, verbose=verbose,
        validation_data=(x_val,) if n_val else None,
        callbacks=[
            keras.callbacks.BackupAndRestore(work / "backup"),
            keras.callbacks.ModelCheckpoint(weights, monitor=monitor or "loss", save_best_only=bool(monitor),
                                            save_weights_only=True),
            *callbacks,
        ],
    )
    seconds = round(time.time() - start, 1)
    model.load_weights(weights)
    standing = None
    if standing_batches and getattr(model, "generator_batchnorms", None):  # sample with the final statistics
        model.set_standing_statistics(batches=standing_batches, batch_size=batch_size, seed=seed + 1)
        standing = {"batches": standing_batches, "batch_size": batch_size, "seed": seed + 1}
    measured = model.evaluate(x_val if n_val else x_train, batch_size=batch_size, verbose=0, return_dict=True)

    parent = model.zoo_metadata
    split = f"held-out {n_val} of {len(images)} images" if n_val else f"the {len(images)} training images"
    metadata = {key: parent[key] for key in ("paper", "family", "license", "tags", "limitations") if key in parent}
    metadata.update({
        "name": out.name,
        "description": f"{parent.get('name', model_ref)} fine-tuned on {len(images)} images from {Path(data).name}",
        "parent": parent.get("source") or parent.get("name") or str(model_ref),
        "dataset": {"name": str(data), "license": "the user's", "split": f"{len(x_train)} training images"},
        "metrics": [{"key": key, "name": f"{type(model).__name__} {key} after fine-tuning",
                     "value": round(float(value), 4), "lower_is_better": key != "k", "split": split}
                    for key, value in measured.items()],
        "command": command,
        "seed": seed,
        "seconds": seconds,
        "epochs": epochs,
        "backend": keras.backend.backend(),
        "standing_statistics": standing,
    })
    save_checkpoint(model, out, metadata, overwrite=overwrite)
    shutil.rmtree(work, ignore_errors=True)
    return out
