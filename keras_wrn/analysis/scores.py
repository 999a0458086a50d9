"""A classifier's scores from its logits, batch by batch, whatever ran it (Keras, a SavedModel,
LiteRT, onnxruntime): top-1, top-5, cross-entropy, and the confusion matrix with each class's
accuracy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np


class Scores:
    """Sums over the batches added; ``confusion[i, j]``: examples of class i predicted j."""

    def __init__(self, num_classes: int):
        self.confusion = np.zeros((num_classes, num_classes), np.int64)
        self.loss_sum = 0.0
        self.top5_hits = 0

    def add(self, logits: np.ndarray, labels: np.ndarray) -> None:
        """Scores logits [N, classes] against integer labels [N]."""
        logits = np.asarray(logits, np.float64)
        shifted = logits - logits.max(-1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        rows = np.arange(len(labels))
        self.loss_sum -= float(log_probabilities[rows, labels].sum())
        np.add.at(self.confusion, (labels, logits.argmax(-1)), 1)
        k = min(5, logits.shape[-1])
        top = np.argpartition(-logits, k - 1, axis=-1)[:, :k]
        self.top5_hits += int((top == labels[:, None]).any(-1).sum())

    @property
    def examples(self) -> int:
        return int(self.confusion.sum())

    def metrics(self) -> dict[str, float]:
        """``loss``, ``top1``, ``top5`` (fractions) and ``examples``, as
        `keras_wrn.training.evaluate` gives them; ValueError when nothing was added."""
        count = self.examples
        if count == 0:
            raise ValueError("the evaluation data is empty.")
        return {"loss": self.loss_sum / count, "top1": float(np.trace(self.confusion)) / count,
                "top5": self.top5_hits / count, "examples": count}

    def per_class(self, class_names: list[str]) -> list[dict[str, Any]]:
        """Per class: its name, examples, correct predictions and accuracy (None for a class
        without examples)."""
        totals, correct = self.confusion.sum(1), np.diag(self.confusion)
        return [{"class": name, "examples": int(total), "correct": int(hits),
                 "accuracy": float(hits / total) if total else None}
                for name, total, hits in zip(class_names, totals, correct, strict=True)]


def score(predict: Callable[[np.ndarray], np.ndarray], batches: Iterable,
          num_classes: int) -> Scores:
    """The scores of ``predict`` (float32 images -> logits) over batches of (images, one-hot
    labels), as eval_dataset's ``as_numpy_iterator()`` gives them."""
    scores = Scores(num_classes)
    for images, labels in batches:
        scores.add(predict(images.astype(np.float32)), labels.argmax(-1))
    return scores
