"""The models on Keras's JAX backend: every family builds, runs forward in training and
inference, backpropagates (through the stochastic-depth layers too) and round-trips .keras,
without importing TensorFlow. In a subprocess, since the backend is chosen at `import keras`."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import ROOT

import keras_wrn

# One small configuration of each family: (name for build_model, hyperparameters).
CONFIGS = {
    "resnet": ("resnet-20", {}),
    "preact_resnet": ("preact_resnet", {"depth": 11, "drop_rate": 0.5, "drop_mode": "sample"}),
    "wrn": ("wrn", {"depth": 16, "widen_factor": 1, "dropout": 0.3}),
    "pyramidnet": ("pyramidnet", {"depth": 8, "alpha": 12}),
    "pyramiddrop": ("pyramiddrop", {"depth": 8, "alpha": 12}),
    "pyramidsepdrop": ("pyramidsepdrop", {"depth": 8, "alpha": 12}),
}

# argv: the configurations as JSON, the folder for the .keras files and the JAX logits (.npy), a
# preset that is only built and run forward. Prints one JSON line.
SCRIPT = r"""
import json, os, random, sys, traceback
import jax
import keras
import numpy as np
import keras_wrn
from keras_wrn.layers import StochasticResidual

configs, out_dir, PRESET = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
# Keras seeds unseeded layers from Python's generator; keras.utils.set_random_seed would seed
# TensorFlow too, importing it.
random.seed(0)
x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
y = np.array([1, 3])
results, models = {}, {}


def run(family, name, hparams):
    result = results[family] = {}
    model = keras_wrn.build_model(name, seed=0, **hparams)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss(trainable, non_trainable):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        per_example = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        return keras.ops.mean(per_example), (logits, non_trainable)

    grad = jax.jit(jax.value_and_grad(loss, has_aux=True))
    (value, (logits, updated)), grads = grad(trainable, non_trainable)
    paths = [v.path for v in model.trainable_variables]
    grads = {path: np.asarray(g) for path, g in zip(paths, grads, strict=True)}
    in_branches = {w.path for layer in model.layers if isinstance(layer, StochasticResidual)
                   for w in layer.branch.trainable_weights}
    result["stochastic_residuals"] = sum(isinstance(layer, StochasticResidual)
                                         for layer in model.layers)
    result["training_finite"] = bool(np.isfinite(np.asarray(logits)).all()
                                     and np.isfinite(float(value)))
    result["state_updated"] = any(not np.array_equal(np.asarray(a), np.asarray(b))
                                  for a, b in zip(non_trainable, updated, strict=True))
    result["nonfinite_grads"] = [p for p, g in grads.items() if not np.isfinite(g).all()]
    result["first_conv_grad_norm"] = float(np.linalg.norm(grads["stem_conv/kernel"]))
    result["nonzero_branch_grads"] = sum(bool(np.any(grads[p])) for p in in_branches)
    inference = np.asarray(model(x, training=False))
    result["inference_finite"] = bool(np.isfinite(inference).all())
    result["inference_deterministic"] = bool(
        np.array_equal(inference, np.asarray(model(x, training=False))))
    models[family] = model, inference


for family, (name, hparams) in configs.items():
    try:
        run(family, name, hparams)
    except Exception:
        results[family] = {"error": traceback.format_exc(limit=-6)[-3000:]}
try:  # a deep preset: built, run forward in inference (compiled: op by op took 100 s), saved
    preset = keras_wrn.build_model(PRESET, seed=0)
    forward = jax.jit(lambda t, n, x: preset.stateless_call(t, n, x, training=False)[0])
    logits = np.asarray(forward([v.value for v in preset.trainable_variables],
                                [v.value for v in preset.non_trainable_variables], x))
    results[PRESET] = {}
except Exception:
    results[PRESET] = {"error": traceback.format_exc(limit=-6)[-3000:]}
tensorflow_imported = "tensorflow" in sys.modules
if "error" not in results[PRESET]:
    preset.save(os.path.join(out_dir, f"{PRESET}.keras"))
    np.save(os.path.join(out_dir, f"{PRESET}.npy"), logits)
for family, (model, inference) in models.items():
    try:
        path = os.path.join(out_dir, f"{family}.keras")
        model.save(path)
        loaded = np.asarray(keras.models.load_model(path)(x, training=False))
        np.testing.assert_allclose(loaded, inference, rtol=1e-6, atol=1e-6)
        np.save(os.path.join(out_dir, f"{family}.npy"), inference)
        results[family]["round_trip"] = True
    except Exception:
        results[family]["error"] = traceback.format_exc(limit=-6)[-3000:]
print(json.dumps({"backend": keras.backend.backend(), "jax": jax.__version__,
                  "tensorflow_imported": tensorflow_imported, "families": results}))
"""


def test_jax_stays_out_of_the_test_processes():
    """JAX runs in the subprocess below only; tests/conftest.py keeps TensorFlow from importing
    it here (its exit handlers in pytest-xdist's workers ended the run with a traceback)."""
    assert "jax" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        import jax  # noqa: F401
    assert keras.backend.backend() == "tensorflow"


# The deep preset the JAX run builds too, whose logits must equal TensorFlow's.
PRESET = "pyramidsepdrop-110-a270"


@pytest.mark.slow  # a fresh interpreter that imports JAX, compiles six models, builds a deep one:
# ~120 s
def test_every_family_builds_trains_and_round_trips_under_jax(tmp_path):
    """Under JAX every family builds, trains a step and round-trips .keras; the same weights give
    TensorFlow's logits (each .keras file JAX wrote, loaded here on the TensorFlow backend)."""
    assert set(CONFIGS) == set(keras_wrn.list_families())
    assert all(keras_wrn.resolve(name, **hp)[0] == family
               for family, (name, hp) in CONFIGS.items())
    env = dict(os.environ, KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    # XLA's compiles are most of the run (the tiny models execute in milliseconds); without
    # LLVM's optimisations they take a fifth less.
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(CONFIGS), str(tmp_path),
                             PRESET],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    families = report["families"]
    errors = {family: r["error"] for family, r in families.items() if "error" in r}
    assert not errors, "\n".join(f"{family}:\n{error}" for family, error in errors.items())
    # Building and running the models never imports TensorFlow. (Saving does, in Keras's own
    # serialize_keras_object, whenever TensorFlow is installed: not checked.)
    assert not report["tensorflow_imported"]
    assert set(families) == {*CONFIGS, PRESET}
    assert keras.backend.backend() == "tensorflow"
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    for family in families:
        jax_logits = np.load(tmp_path / f"{family}.npy")
        tf_logits = keras.models.load_model(tmp_path / f"{family}.keras")(x, training=False)
        scale = np.abs(jax_logits).max()
        np.testing.assert_allclose(np.asarray(tf_logits) / scale, jax_logits / scale, atol=1e-4,
                                   err_msg=family)
    for family, r in {f: families[f] for f in CONFIGS}.items():
        assert r["training_finite"] and r["inference_finite"], (family, r)
        assert r["inference_deterministic"], (family, r)
        assert r["state_updated"], (family, r)  # batch-norm moving statistics, seeds
        assert r["nonfinite_grads"] == [], (family, r)
        assert r["first_conv_grad_norm"] > 0, (family, r)
        assert r["round_trip"], (family, r)
        drops = CONFIGS[family][0] in ("pyramiddrop", "pyramidsepdrop") \
            or CONFIGS[family][1].get("drop_rate", 0) > 0
        assert (r["stochastic_residuals"] > 0) == drops, (family, r)
        if drops:  # the gradient flows into the gated branches
            assert r["nonzero_branch_grads"] > 0, (family, r)
