"""A new export format is one module: registered from this file alone, it is accepted by
--formats' check, written in its own folder of versions beside the others, published with
them and measured in the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_wrn import build_model
from keras_wrn.export import ExportData, ExportError, ExportOptions, check_formats, export
from keras_wrn.export.formats import FORMATS, Format, register
from keras_wrn.export.layout import existing_versions


def _write(job, folder):
    np.savez(folder / "weights.npz", *[w.numpy() for w in job.model.weights])
    job.log(f"weights_npz: {len(job.model.weights)} arrays")
    return ["weights.npz"]


def _measure(job, folder, final):
    path = folder / "weights.npz"
    return [{"format": "weights_npz", "path": str(final / "weights.npz"),
             "size_bytes": path.stat().st_size,
             "arrays": len(np.load(path).files)}]


def _needs_threads(options):
    if options.threads > 4:
        raise ExportError("weights_npz is measured on at most 4 threads.")


WEIGHTS_NPZ = Format(name="weights_npz", rank=50, folder="npz", write=_write, measure=_measure,
                     check=_needs_threads, help="the weights as NumPy arrays")


@pytest.fixture
def weights_npz():
    register(WEIGHTS_NPZ)
    yield WEIGHTS_NPZ
    del FORMATS["weights_npz"]


def test_a_format_registered_from_a_test_file_is_exported_beside_the_others(tmp_path,
                                                                           weights_npz):
    model = build_model("resnet", depth=8, num_classes=2, input_shape=(8, 8, 3))
    options = ExportOptions(formats=("weights_npz", "saved_model"))
    report = export(model, ["a", "b"], "m", tmp_path, ExportData(), options, log=lambda _: None)
    base = tmp_path / "m"
    assert sorted(p.name for p in (base / "npz" / "1").iterdir()) == [
        "labels.txt", "report.json", "weights.npz"]
    assert (base / "1" / "saved_model.pb").is_file()
    rows = {row["format"]: row for row in report["formats"]}
    assert list(rows) == ["saved_model", "weights_npz"]  # by rank, not by --formats' order
    assert rows["weights_npz"]["arrays"] == len(model.weights)
    assert json.loads((base / "report.json").read_text()) == report
    # Its folder of versions counts: the next export is version 2 wherever it goes.
    export(model, ["a", "b"], "m", tmp_path, ExportData(),
           ExportOptions(formats=("weights_npz",)), log=lambda _: None)
    assert existing_versions(base) == [1, 2]


def test_its_own_checks_run_with_the_others(weights_npz):
    check_formats(("weights_npz",), ExportOptions())
    with pytest.raises(ExportError, match="at most 4 threads"):
        check_formats(("weights_npz",), ExportOptions(threads=8))


def test_without_registration_it_is_unknown():
    with pytest.raises(ExportError, match="unknown format"):
        check_formats(("weights_npz",), ExportOptions())
