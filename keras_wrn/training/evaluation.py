"""Top-1 / top-5 accuracy and loss of a model over a dataset, under any strategy."""

from __future__ import annotations

from keras_wrn.core import lazy

keras = lazy.module("keras")
tf = lazy.module("tensorflow")


def make_eval_step(model: keras.Model, strategy: tf.distribute.Strategy):
    """A compiled step returning global sums: loss, top-1 hits, top-5 hits, examples. An
    all-zero label (one-hot of -1: padding) weighs 0."""
    k = min(5, model.output_shape[-1])

    def replica_step(images, labels):
        images = tf.cast(images, tf.float32)
        logits = tf.cast(model(images, training=False), tf.float32)
        loss = keras.losses.categorical_crossentropy(labels, logits, from_logits=True)
        weight = tf.reduce_sum(tf.cast(labels, tf.float32), -1)
        targets = tf.argmax(labels, axis=-1, output_type=tf.int32)
        top1 = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), targets), tf.float32)
        topk = tf.cast(tf.math.in_top_k(targets, logits, k), tf.float32)
        return (tf.reduce_sum(loss * weight), tf.reduce_sum(top1 * weight),
                tf.reduce_sum(topk * weight), tf.reduce_sum(weight))

    @tf.function(autograph=False)
    def step(batch):
        results = strategy.run(replica_step, args=batch)
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, r, axis=None) for r in results]

    return step


def evaluate(model: keras.Model, dataset,
             strategy: tf.distribute.Strategy | None = None, step=None) -> dict[str, float]:
    """``loss``, ``top1``, ``top5`` (fractions) and ``examples`` over batches of (images,
    one-hot labels): a tf.data dataset, or one the strategy distributed (each worker its
    share; the sums are all-reduced)."""
    strategy = strategy or tf.distribute.get_strategy()
    step = step or make_eval_step(model, strategy)
    if isinstance(dataset, tf.data.Dataset):
        dataset = strategy.experimental_distribute_dataset(dataset)
    totals = [0.0, 0.0, 0.0, 0.0]
    for batch in dataset:
        totals = [t + float(v) for t, v in zip(totals, step(batch), strict=True)]
    loss, top1, top5, count = totals
    if count == 0:
        raise ValueError("the evaluation data is empty.")
    return {"loss": loss / count, "top1": top1 / count, "top5": top5 / count,
            "examples": int(count)}
