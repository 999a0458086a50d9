"""How many examples a run trains on, known before TensorFlow starts: the runtime plan needs
the run's length in steps to decide whether an XLA compile repays itself."""

from __future__ import annotations


def train_size_hint(dataset: str | None, data_dir: str | None = None,
                    val_dir: str | None = None, val_split: float = 0.1,
                    tfds_data_dir: str | None = None, for_selection: bool = False) -> int | None:
    """The training examples :func:`keras_wrn.data.load_data` returns for these arguments,
    from file listings and metadata only (no image is read); None when only loading tells
    (a TFDS dataset without prepared metadata). DataError for a folder that cannot train."""
    from keras_wrn.data import folder, synthetic, tfrecord

    if data_dir:
        manifest = tfrecord.read_manifest(data_dir)
        if manifest is not None:
            return int(manifest["splits"]["train"]["examples"])
        paths, labels, _ = folder.list_image_folder(data_dir)
        if val_dir or val_split <= 0:
            return len(paths)
        (train, _), _ = folder.split_per_class(paths, labels, val_split)
        return len(train)
    if dataset == "synthetic":
        return synthetic.TRAIN_EXAMPLES
    return _tfds_train_size(dataset or "cifar10", val_split, tfds_data_dir, for_selection)


def _tfds_train_size(name: str, val_split: float, data_dir: str | None,
                     for_selection: bool) -> int | None:
    """The size of the split :func:`keras_wrn.data.tfds_source.load_tfds` trains on, from the
    TFDS builder's metadata: ``train``, less its last ``val_split`` when that is validated on
    (no held-out split, or ``for_selection``)."""
    import tensorflow_datasets as tfds

    try:
        splits = tfds.builder(name, data_dir=data_dir).info.splits
        held_out = not for_selection and any(s in splits for s in ("test", "validation"))
        train = "train" if held_out else f"train[:{100 - round(val_split * 100)}%]"
        return int(splits[train].num_examples) or None  # 0: not prepared here
    except Exception:  # unknown or not prepared: load_tfds reports it, with the fix
        return None
