"""fp16 loss scaling across replicas: an overflow on one replica skips the step on all of them
and lowers the scale on all of them (Keras 3's own optimizer checks the local replica only)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT, app_env

# Two logical CPUs need a process of their own (the split must come before TensorFlow starts).
_SCRIPT = """
import json
import keras
import tensorflow as tf
from keras_wrn.runtime.strategy import split_cpu
from keras_wrn.training.loss_scale import ReplicaSyncedLossScaleOptimizer

split_cpu(2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
results = {}
for name, cls in (("keras", keras.optimizers.LossScaleOptimizer),
                  ("synced", ReplicaSyncedLossScaleOptimizer)):
    with strategy.scope():
        w = keras.Variable([1.0, 2.0])
        opt = cls(keras.optimizers.SGD(0.1), initial_scale=4.0)
        opt.build([w])

    def replica(overflow):
        # replica 1 of 2 overflows in its first gradient entry; replica 0 is finite
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        bad = tf.logical_and(overflow, replica_id == 1)
        grad = tf.where(bad, tf.constant([float("inf"), 4.0]), tf.constant([4.0, 4.0]))
        opt.apply_gradients([(grad, w)])

    step = tf.function(lambda overflow: strategy.run(replica, args=(overflow,)))
    rows = []
    for overflow in (True, False):
        step(tf.constant(overflow))
        rows.append({"weights": [v.numpy().tolist()
                                 for v in strategy.experimental_local_results(w.value)],
                     "scale": float(opt.dynamic_scale.numpy())})
    results[name] = rows
print(json.dumps(results))
"""


@pytest.mark.slow
def test_an_overflow_on_one_replica_skips_the_step_on_all():
    run = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         env=app_env(), timeout=180, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    overflow, finite = results["synced"]
    assert overflow == {"weights": [[1.0, 2.0], [1.0, 2.0]], "scale": 2.0}  # skipped, halved
    # The next, finite step applies on both replicas: the summed gradient 8, unscaled by 2,
    # times the learning rate 0.1.
    assert finite["weights"] == [pytest.approx([0.6, 1.6])] * 2
    assert finite["scale"] == 2.0
    # The control: Keras' optimizer applied replica 1's inf and kept its scale.
    keras_overflow = results["keras"][0]
    assert keras_overflow["weights"][0][0] == float("-inf")
    assert keras_overflow["scale"] == 4.0
