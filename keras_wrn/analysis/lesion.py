"""The lesion study of Veit, Wilber & Belongie 2016 ("Residual Networks Behave Like Ensembles
of Relatively Shallow Networks"): top-1 with each residual block deleted in turn, and with k
random blocks deleted, at test time."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_wrn.analysis.graph import residual_blocks, without_blocks
from keras_wrn.core import lazy
from keras_wrn.training.evaluation import evaluate

keras = lazy.module("keras")
tf = lazy.module("tensorflow")


def _top1(model: keras.Model, dataset: tf.data.Dataset) -> float:
    return evaluate(model, dataset)["top1"]


def lesion(model: keras.Model, dataset: tf.data.Dataset, draws: int = 3,
           seed: int = 0) -> dict[str, Any]:
    """``baseline_top1``; ``single``: top-1 with each block deleted (index, name, top1);
    ``random``: for k = 1..n blocks deleted, ``draws`` random sets each (one for k = n), their
    top-1s and mean. ``dataset``: batched (images, one-hot labels), as ``evaluate`` takes."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}.")
    blocks = residual_blocks(model)
    if not blocks:
        raise ValueError(f"{model.name} has no residual blocks to delete.")
    single = [{"index": index, "block": block,
               "top1": _top1(without_blocks(model, [block]), dataset)}
              for index, block in enumerate(blocks)]
    rng = np.random.default_rng(seed)
    random = []
    for k in range(1, len(blocks) + 1):
        sets = [sorted(rng.choice(len(blocks), k, replace=False).tolist())
                for _ in range(draws if k < len(blocks) else 1)]
        top1s = [_top1(without_blocks(model, [blocks[i] for i in chosen]), dataset)
                 for chosen in sets]
        random.append({"k": k, "top1_mean": float(np.mean(top1s)), "top1": top1s,
                       "deleted": sets})
    return {"model": model.name, "blocks": len(blocks), "baseline_top1": _top1(model, dataset),
            "single": single, "random": random}


def cheapest_blocks(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> list[str]:
    """The residual blocks ordered by what deleting each alone costs in top-1 on the images
    (least first; ties by position, input side first): the order an export's depth ladder
    deletes them in."""
    costs = []
    for index, block in enumerate(residual_blocks(model)):
        logits = without_blocks(model, [block]).predict(images, batch_size=100, verbose=0)
        costs.append((-float((logits.argmax(-1) == labels).mean()), index, block))
    return [block for _, _, block in sorted(costs)]


def plot(result: dict[str, Any], path: str, title: str | None = None) -> None:
    """Error against the deleted block's index, and against the number of blocks deleted, as
    a PNG (matplotlib, the `analysis` extra)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display
    from matplotlib import pyplot

    figure, (by_block, by_count) = pyplot.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    baseline = 100 * (1 - result["baseline_top1"])
    by_block.plot([r["index"] + 1 for r in result["single"]],
                  [100 * (1 - r["top1"]) for r in result["single"]], "o-", label="one deleted")
    by_block.axhline(baseline, color="grey", linestyle="--", label="none deleted")
    by_block.set(xlabel="deleted block (input to output)", ylabel="top-1 error (%)",
                 title="Deleting one block")
    by_block.legend()
    ks = [r["k"] for r in result["random"]]
    by_count.plot(ks, [100 * (1 - r["top1_mean"]) for r in result["random"]], "o-",
                  label="mean of the draws")
    for r in result["random"]:
        by_count.scatter([r["k"]] * len(r["top1"]), [100 * (1 - t) for t in r["top1"]],
                         color="C0", alpha=0.3, s=12)
    by_count.axhline(baseline, color="grey", linestyle="--")
    by_count.set(xlabel="random blocks deleted", ylabel="top-1 error (%)",
                 title="Deleting k random blocks")
    by_count.legend()
    figure.suptitle(title or result["model"])
    figure.savefig(path, dpi=120, format="png")
    pyplot.close(figure)
