"""What every data source hands to the input pipeline."""

from __future__ import annotations

import dataclasses

import tensorflow as tf


class DataError(ValueError):
    """A dataset cannot be loaded; the message is one line that names the fix."""


@dataclasses.dataclass
class DataSource:
    """Decoded examples: unbatched ``(uint8 image [H, W, 3], int32 label)`` datasets."""

    train: tf.data.Dataset
    val: tf.data.Dataset | None
    train_size: int
    val_size: int
    class_names: list[str]
    skipped: int = 0  # unreadable images left out
    val_from: str = "none"  # where validation comes from, in words: which split or folder

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
