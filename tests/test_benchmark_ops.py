"""The op-type table `apps/benchmark.py train --profile` reads from a tf.profiler trace."""

from __future__ import annotations

import tensorflow as tf

from keras_wrn.benchmark.ops import _op_type, _self_times, op_seconds


def test_op_types_come_from_the_executors_op_events_only():
    assert _op_type("model/conv2d/Conv2D:Conv2D") == "Conv2D"
    assert _op_type("MatMul:_MklMatMul") == "_MklMatMul"  # as oneDNN's rewrite names it
    assert _op_type("ExecutorState::Process") is None  # a C++ scope
    assert _op_type("__inference_step_12:1") is None
    assert _op_type("Conv2D") is None


def test_an_op_running_others_inside_keeps_only_its_own_time():
    ops = [(0, 100, "StatefulPartitionedCall"), (10, 20, "Conv2D"), (40, 30, "Relu"),
           (200, 5, "AddV2")]
    assert sorted(_self_times(ops)) == [("AddV2", 5), ("Conv2D", 20), ("Relu", 30),
                                        ("StatefulPartitionedCall", 50)]


def test_a_traced_function_shows_its_ops(tmp_path):
    """A real trace: the matmul of a traced function is found and timed, per call."""
    x = tf.random.normal((256, 256))
    matmul = tf.function(tf.autograph.experimental.do_not_convert(
        lambda a: tf.nn.relu(tf.matmul(a, a))))
    matmul(x)
    tf.profiler.experimental.start(str(tmp_path))
    for _ in range(2):
        matmul(x)
    tf.profiler.experimental.stop()
    seconds = op_seconds(tmp_path, steps=2)
    matmuls = [kind for kind in seconds if kind.endswith("MatMul")]  # MatMul or _MklMatMul
    assert matmuls and seconds[matmuls[0]] > 0
    assert list(seconds.values()) == sorted(seconds.values(), reverse=True)
