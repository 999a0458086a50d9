"""Targets beyond TensorFlow's runtimes: TFLite Micro (the arena it needs, the op it lacks, the C++
header), ONNX under onnxruntime, and the CPU a report was measured on."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_RUN_GROUP, call_app

import keras_wrn
from keras_wrn.benchmark.machine import cpu_info
from keras_wrn.export import ExportData, ExportError, ExportOptions, export, micro, tflite

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC 9R45
stepping\t: 1
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 xsave

processor\t: 1
model name\t: another CPU
"""
ARM = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp sve i8mm bf16
CPU implementer\t: 0x41
CPU part\t: 0xd4f
"""


@pytest.mark.parametrize("text, name, simd, ids", [
    (X86, "AMD EPYC 9R45", ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                            "avx512_vnni", "avx512_bf16"],
     {"family": "26", "model": "2", "stepping": "1"}),
    (ARM, None, ["asimd", "asimddp", "i8mm", "bf16", "sve"],
     {"implementer": "0x41", "part": "0xd4f"}),
])
def test_cpu_info_names_the_cpu_and_its_simd_extensions(tmp_path, text, name, simd, ids):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    info = cpu_info(path)
    assert info["simd"] == simd
    assert {key: info[key] for key in ids} == ids
    if name:  # the first processor's, not a later one's
        assert info["name"] == name
    assert info["cores"] >= 1


def _int8(model: keras.Model, fmt: str = "tflite_micro") -> bytes:
    images = np.random.default_rng(0).uniform(0, 255, (16, *model.input_shape[1:]))
    return tflite.convert_keras(model, fmt, tflite.representative_dataset(
        images.astype(np.float32)))


def _conv_net(top_k: bool = False, filters: int = 4) -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(filters, 3, activation="relu")(inputs)
    x = keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(x))
    if top_k:  # TOPK_V2, a builtin op TFLite Micro has no kernel for
        x = keras.layers.Lambda(lambda t: tf.math.top_k(t, 5).values)(x)
    return keras.Model(inputs, x)


def test_the_arena_found_is_the_smallest_that_allocates():
    content = _int8(_conv_net())
    arena = micro.arena_size(content)
    assert arena % micro.ARENA_STEP == 0
    assert micro.MicroModel(content, arena).predict(np.zeros((2, 8, 8, 3))).shape == (2, 5)
    with pytest.raises(ExportError, match="cannot run the model in"):
        micro.MicroModel(content, arena - micro.ARENA_STEP)


def test_an_op_tflite_micro_lacks_is_named_and_nothing_is_published(tmp_path):
    content = _int8(_conv_net(top_k=True))
    with pytest.raises(ExportError, match="TFLite Micro has no kernel for the TOPK_V2 op"):
        micro.arena_size(content)
    images = np.random.default_rng(1).uniform(0, 255, (8, 8, 8, 3)).astype(np.float32)
    data = ExportData(calibration=images)
    with pytest.raises(ExportError, match=r"^tflite_micro does not run under TFLite Micro: "
                                          r"TFLite Micro has no kernel for the TOPK_V2 op"):
        export(_conv_net(top_k=True), list("abcde"), "m", tmp_path, data,
               ExportOptions(formats=("tflite_int8", "tflite_micro")))
    assert not (tmp_path / "m").exists()  # no version, no empty model folder


def test_dynamic_range_models_do_not_run_under_tflite_micro():
    # 64 filters: a kernel of over 1,024 weights, which dynamic range quantizes.
    with pytest.raises(ExportError, match="Hybrid models are not supported"):
        micro.arena_size(_int8(_conv_net(filters=64), "tflite_dynamic"), "tflite_dynamic")


def test_the_c_header_holds_the_model_its_arena_and_its_ops():
    content = _int8(_conv_net())
    ops = tflite.op_names(content)
    header = micro.c_header(content, "2nd-model", 1234, ops)
    body = header[header.index("{") + 1:header.index("}")]
    assert bytes(int(byte, 16) for byte in re.findall(r"0x([0-9a-f]{2})", body)) == content
    assert f"static const unsigned int model_2nd_model_model_len = {len(content)};" in header
    assert "constexpr std::size_t model_2nd_model_arena_size = 1234;" in header
    assert "resolver.AddConv2D();" in header and "resolver.AddFullyConnected();" in header
    assert f"MicroMutableOpResolver<{len(set(ops))}>" in header


def test_onnx_takes_images_and_gives_the_keras_logits_at_any_batch():
    from keras_wrn.export import onnx

    model = keras_wrn.build_model("pyramidsepdrop", depth=8, alpha=12, num_classes=4,
                                  input_shape=(16, 16, 3))
    runner = onnx.OnnxModel(onnx.convert(model))
    inputs, outputs = runner.session.get_inputs(), runner.session.get_outputs()
    assert [(i.name, i.shape) for i in inputs] == [("images", ["batch", 16, 16, 3])]
    assert [(o.name, o.shape) for o in outputs] == [("logits", ["batch", 4])]
    images = np.random.default_rng(2).uniform(0, 255, (7, 16, 16, 3)).astype(np.float32)
    want = np.asarray(model(images, training=False))
    for batch in (1, 7):  # the normalisation inside, at any batch size
        got = runner.predict(images, batch_size=batch)
        np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


@pytest.fixture(scope="module")
def small_resnet(tmp_path_factory):
    out = tmp_path_factory.mktemp("resnet") / "run"
    call_app("train.py", "--arch", "resnet", "--depth", "8", "--dataset", "synthetic",
             "--image-size", "16", "--recipe", "quick", "--epochs", "3", "--output-dir", out)
    return out


# Images each int8 model runs under TFLite Micro's reference kernels (seconds each at 32x32).
MICRO_EXAMPLES = 64


def _export(run, tmp_path) -> dict:
    # In this process: tests/test_export.py runs export.py's command line.
    call_app("export.py", "--model", run, "--name", "m", "--export-dir", tmp_path,
             "--formats", "tflite_int8,tflite_micro,onnx", "--micro-examples", str(MICRO_EXAMPLES))
    return json.loads((tmp_path / "m" / "report.json").read_text())


@pytest.mark.slow
@pytest.mark.xdist_group(TINY_RUN_GROUP)
@pytest.mark.parametrize("family", ["pyramidsepdrop", "resnet"])
def test_trained_models_run_under_tflite_micro_and_onnxruntime(family, request, tmp_path):
    run = (request.getfixturevalue("tiny_run")[0] if family == "pyramidsepdrop"
           else request.getfixturevalue("small_resnet"))
    report = _export(run, tmp_path)
    rows = {row["format"]: row for row in report["formats"]}
    assert rows["keras_float"]["top1"] > 0.6  # trained: agreement means something
    for fmt in ("tflite_int8", "tflite_micro"):
        entry = rows[fmt]["micro"]
        assert entry["runs"] and entry["examples"] == MICRO_EXAMPLES, entry
        # LiteRT's int8 kernels (XNNPACK, VNNI where the CPU has it) and TFLite Micro's
        # reference kernels round differently: a near-tie's top-1 can flip (1 of 500 on an
        # AVX-512 Xeon, none on an AVX2 EPYC); the int8-output logits are bounded below.
        assert entry["agreement_with_litert"] >= 1 - 1 / MICRO_EXAMPLES, entry
        assert 0 < entry["arena_bytes"] < 1 << 20
    assert rows["tflite_micro"]["micro"]["difference_unit"] == "int8 output steps"
    assert rows["tflite_micro"]["micro"]["max_logit_difference"] <= 4
    assert rows["onnx"]["agreement"] >= 0.999 and rows["onnx"]["latency_ms"] > 0
    base = tmp_path / "m"
    header = (base / "tflite" / "1" / "tflite_micro.h").read_text()
    assert f"m_arena_size = {rows['tflite_micro']['micro']['arena_bytes']};" in header
    assert (base / "onnx" / "1" / "model.onnx").stat().st_size == rows["onnx"]["size_bytes"]
    assert json.loads((base / "onnx" / "1" / "report.json").read_text()) == report
    cpu, versions = report["machine"]["cpu"], report["machine"]["versions"]
    assert cpu["name"] and cpu["machine"] and isinstance(cpu["simd"], list)
    assert {"tensorflow", "ai-edge-litert", "tflite-micro", "onnxruntime"} <= set(versions)
    assert report["litert_kernels"] == "xnnpack"
