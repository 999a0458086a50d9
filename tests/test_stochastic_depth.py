"""Stochastic-depth semantics: expectation at inference, drop frequencies in training, the four
keep/drop combinations of PyramidSepDrop, independent per-sample draws, and dropped branches that
are not computed."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import ROOT, app_env

import keras_wrn
from keras_wrn.layers import SeparatedStochasticDepth, StochasticDepth, StochasticResidual

TRIALS = 2000


def _binomial_bound(p: float, n: int) -> float:
    """Five standard deviations of an observed frequency: false alarms ~1e-6."""
    return 5 * np.sqrt(p * (1 - p) / n)


def test_inference_is_deterministic_expectation():
    x = np.random.default_rng(0).normal(size=(4, 3, 3, 8)).astype("float32")
    layer = StochasticDepth(0.3)
    a = np.asarray(layer(x, training=False))
    b = np.asarray(layer(x, training=False))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, 0.7 * x, rtol=1e-6)
    # The mean over many training draws converges to the inference output.
    mean = np.mean([np.asarray(layer(x, training=True)) for _ in range(TRIALS)], axis=0)
    np.testing.assert_allclose(mean, a, atol=_binomial_bound(0.7, TRIALS) * np.abs(x).max())


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_batch_mode_drops_the_whole_batch_at_the_rate(rate):
    layer = StochasticDepth(rate, mode="batch")
    x = np.ones((4, 2, 2, 3), "float32")
    outs = np.stack([np.asarray(layer(x, training=True)) for _ in range(TRIALS)])
    per_call = outs.reshape(TRIALS, -1)
    # One gate per call: every element of a call is kept together or dropped together.
    assert np.all((per_call == 0).all(1) | (per_call == 1).all(1))
    dropped = (per_call == 0).all(1).mean()
    assert abs(dropped - rate) < _binomial_bound(rate, TRIALS)


def test_sample_mode_drops_samples_independently():
    rate, batch = 0.4, 64
    layer = StochasticDepth(rate, mode="sample")
    x = np.ones((batch, 2, 2, 3), "float32")
    gates = np.stack([np.asarray(layer(x, training=True))[:, 0, 0, 0] for _ in range(200)])
    one_call = np.asarray(layer(x, training=True)).reshape(batch, -1)
    assert one_call.std(axis=1).max() == 0  # one gate per sample, shared by its elements
    assert abs((gates == 0).mean() - rate) < _binomial_bound(rate, gates.size)
    # Independence: the samples of one call are not all kept or all dropped together, and the
    # correlation between two samples' gates is near zero.
    assert ((gates == 0).all(1) | (gates == 1).all(1)).mean() < 0.01
    corr = np.corrcoef(gates[:, 0], gates[:, 1])[0, 1]
    assert abs(corr) < 5 / np.sqrt(gates.shape[0])


@pytest.mark.slow
def test_separated_drop_all_four_combinations_at_their_frequencies():
    rate, shared, channels = 0.5, 3, 5
    layer = SeparatedStochasticDepth(rate, shared_channels=shared)
    x = np.ones((2, 2, 2, channels), "float32")
    counts = {}
    for _ in range(TRIALS):
        out = np.asarray(layer(x, training=True))
        kept_shared, kept_new = out[..., :shared], out[..., shared:]
        assert len(np.unique(kept_shared)) == 1 and len(np.unique(kept_new)) == 1
        key = (int(kept_shared.flat[0]), int(kept_new.flat[0]))
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    for (s, n), count in counts.items():
        p = (1 - rate if s else rate) * (1 - rate if n else rate)
        assert abs(count / TRIALS - p) < _binomial_bound(p, TRIALS)
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), (1 - rate) * x)


def test_linear_decay_reaches_final_rate_at_last_block():
    model = keras_wrn.build_model("pyramidsepdrop", depth=20, alpha=12)
    gates = [layer.gate for layer in model.layers if isinstance(layer, StochasticResidual)]
    rates = [g.rate for g in gates]
    assert len(rates) == 9 and rates[-1] == pytest.approx(0.5)
    np.testing.assert_allclose(rates, [0.5 * (i + 1) / 9 for i in range(9)])
    assert all(isinstance(g, SeparatedStochasticDepth) for g in gates if g.shared_channels)


def test_model_inference_is_deterministic_and_training_is_not():
    model = keras_wrn.build_model("pyramidsepdrop", depth=20, alpha=12, drop_rate=0.5)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(x, training=False)),
                                  np.asarray(model(x, training=False)))
    outs = {np.asarray(model(x, training=True)).tobytes() for _ in range(5)}
    assert len(outs) > 1


def test_mixed_precision_policy():
    layer = StochasticDepth(0.5, dtype="mixed_bfloat16")
    out = layer(np.ones((2, 2, 2, 2), "float32"), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = keras_wrn.build_model("pyramidsepdrop", depth=20, alpha=12)
        logits = model(np.zeros((1, 32, 32, 3), "float32"), training=True)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert model.get_layer("stage2_block1_residual").gate.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


def _residual_with_batch_norm(gate: StochasticDepth, channels: int = 4) -> StochasticResidual:
    """A residual whose branch is one batch norm: its moving mean moves only when it runs."""
    inputs = keras.Input((2, 2, channels))
    branch = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.5)(inputs))
    return StochasticResidual(branch, gate)


@pytest.mark.parametrize("separated", [False, True])
def test_dropped_branch_is_not_computed_forward_or_backward(separated):
    rate, trials = 0.5, 400
    gate = (SeparatedStochasticDepth(rate, shared_channels=2, seed=0) if separated
            else StochasticDepth(rate, seed=0))
    residual = _residual_with_batch_norm(gate)
    shortcut = np.zeros((3, 2, 2, 4), "float32")
    x = np.random.default_rng(0).normal(3.0, 1.0, (3, 2, 2, 4)).astype("float32")
    moving_mean = residual.branch.layers[-1].moving_mean
    gamma = residual.branch.layers[-1].gamma

    @tf.function
    def step():
        moving_mean.assign(tf.zeros_like(moving_mean))  # x has mean 3: a run moves it to 1.5
        with tf.GradientTape() as tape:
            out = residual([shortcut, x], training=True)
            loss = tf.reduce_sum(out * out)
        return out, tape.gradient(loss, gamma), tf.reduce_any(moving_mean != 0)

    # The branch's training output: x normalised by its batch statistics (gamma 1, beta 0).
    normalised = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-3)
    skipped = 0
    for _ in range(trials):
        out, grad, ran = (np.asarray(t) for t in step())
        if not ran:  # the branch's batch norm did not run: the output is the shortcut, no gradient
            skipped += 1
            np.testing.assert_array_equal(out, shortcut)
            assert not grad.any()
            continue
        # Run: each gate group (shared, new channels) is the branch output or dropped to zero.
        groups = (slice(0, 2), slice(2, 4)) if separated else (slice(0, 4),)
        kept = [np.allclose(out[..., g], normalised[..., g], atol=1e-4) for g in groups]
        dropped = [not out[..., g].any() for g in groups]
        assert all(k or d for k, d in zip(kept, dropped, strict=True)) and any(kept)
    # A separated branch is skipped only when both of its gates drop it.
    p = rate * rate if separated else rate
    assert abs(skipped / trials - p) < _binomial_bound(p, trials)


def test_residual_inference_is_shortcut_plus_scaled_branch():
    residual = _residual_with_batch_norm(StochasticDepth(0.25))
    shortcut = np.ones((2, 2, 2, 4), "float32")
    x = np.random.default_rng(0).normal(size=(2, 2, 2, 4)).astype("float32")
    branch = np.asarray(residual.branch(x, training=False))
    np.testing.assert_allclose(np.asarray(residual([shortcut, x], training=False)),
                               shortcut + 0.75 * branch, rtol=1e-6)


_GATES_SCRIPT = """
import json, sys
import tensorflow as tf
from keras_wrn.layers import StochasticDepth
from keras_wrn.runtime import RuntimeRequest, start

_, strategy = start(RuntimeRequest(strategy=sys.argv[1], cpu_devices=int(sys.argv[2])))
with strategy.scope():
    gate = StochasticDepth(0.5, mode="batch", seed=3)
    gate.build((2, 4))
step = tf.function(lambda: strategy.run(lambda: gate(tf.ones((2, 4)), training=True)[0, 0]))
draws = [[float(v) for v in strategy.experimental_local_results(step())] for _ in range(40)]
print(json.dumps(draws))
"""


@pytest.mark.slow
def test_mirrored_replicas_draw_the_one_device_gates():
    """Under MirroredStrategy every replica drops the same blocks at each step, and the same
    ones a one-device run drops: the replicas' branches stay one model."""
    def draws(strategy: str, devices: int) -> list[list[float]]:
        run = subprocess.run([sys.executable, "-c", _GATES_SCRIPT, strategy, str(devices)],
                             capture_output=True, text=True, env=app_env(), timeout=120,
                             cwd=ROOT)
        assert run.returncode == 0, run.stderr[-2000:]
        return json.loads(run.stdout.strip().splitlines()[-1])

    one, two = draws("one_device", 1), draws("mirrored", 2)
    assert all(len(step) == 2 and step[0] == step[1] for step in two)
    assert [step[0] for step in two] == [step[0] for step in one]
    assert 0 < sum(step[0] for step in one) < 40  # the gate does vary over the steps
