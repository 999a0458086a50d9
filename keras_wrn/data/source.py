"""What every data source hands to the input pipeline."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pipeline imports TensorFlow; DataError is raised before it loads
    import tensorflow as tf

    from keras_wrn.data.examples import Examples, StreamExamples


class DataError(ValueError):
    """A dataset cannot be loaded; the message is one line that names the fix."""


@dataclasses.dataclass
class DataSource:
    """A training split, an optional validation split and the classes. ``kind`` (cifar or
    imagenet) is how ``train`` and ``val`` prepare images for evaluation."""

    train_examples: Examples | StreamExamples
    val_examples: Examples | StreamExamples | None
    class_names: list[str]
    kind: str = "cifar"
    skipped: int = 0  # unreadable images left out (known once decoded: cached data only)
    val_from: str = "none"  # where validation comes from, in words: which split or folder
    cached: bool = True  # held in memory (else streamed from files)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def train_size(self) -> int:
        return self.train_examples.size

    @property
    def val_size(self) -> int:
        return self.val_examples.size if self.val_examples is not None else 0

    @property
    def train(self) -> tf.data.Dataset:
        """The training examples prepared for evaluation, unbatched, in stored order."""
        from keras_wrn.data.pipeline import prepared

        return prepared(self.train_examples, self.kind)

    @property
    def val(self) -> tf.data.Dataset | None:
        """The validation examples prepared for evaluation, unbatched, in stored order."""
        from keras_wrn.data.pipeline import prepared

        return None if self.val_examples is None else prepared(self.val_examples, self.kind)

    def read_error(self, error: tf.errors.OpError) -> DataError:
        """A read that failed mid-run (a shard deleted or truncated since loading) as one
        line: the file a check of the streamed files finds, else TensorFlow's message."""
        from keras_wrn.data.examples import StreamExamples

        for examples in (self.train_examples, self.val_examples):
            if isinstance(examples, StreamExamples):
                try:
                    examples.check_files()
                except DataError as found:
                    return found
        # "{{function_node ...}} truncated record at 232 [Op:IteratorGetNext] name: " and
        # "\n\t [[{{node ...}}]]": the words between TensorFlow's markers.
        message = re.sub(r"\{\{.*?\}\}|\[\[.*?\]\]|\[Op:.*?\]|\bname:\s*$", "",
                         error.message.split("\n")[0])
        return DataError(f"reading the data failed: {' '.join(message.split())}; check its "
                         f"files (a TFRecord directory: write it again with "
                         f"apps/make_tfrecords.py).")
