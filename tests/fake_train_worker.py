"""A stand-in for ``apps/train.py`` as apps/gpu_check.py starts it on two workers: checks the
environment each worker is given (TF_CONFIG, its half of CUDA_VISIBLE_DEVICES), then writes and
prints what gpu_check reads back (the chief's history.json, a ``runtime:`` and a ``summary:``
line). The training it stands for, apps/train.py on two workers of forced GPUs, runs for real
in tests/test_gpu_paths.py; this keeps gpu_check's own test to its orchestration without two
more TensorFlow processes. Imports no TensorFlow.

    python tests/fake_train_worker.py TRAIN_PY FLAGS...   (as gpu_check's --launcher)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    train_py, *flags = argv
    parser = argparse.ArgumentParser()
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    args, _ = parser.parse_known_args(flags)
    task = json.loads(os.environ["TF_CONFIG"])
    index, workers = task["task"]["index"], len(task["cluster"]["worker"])
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if Path(train_py).name != "train.py" or workers != 2 or visible != str(index):
        print(f"error: worker {index} of {workers} ran {train_py} with "
              f"CUDA_VISIBLE_DEVICES={visible!r}", file=sys.stderr)
        return 1
    if index == 0:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        history = [{"epoch": e + 1, "images_per_s": 100.0 * (e + 1)} for e in range(args.epochs)]
        (args.output_dir / "history.json").write_text(json.dumps(history))
    print(f"runtime: fake worker {index}, CUDA_VISIBLE_DEVICES={visible}, flags {' '.join(flags)}")
    print("summary: " + json.dumps({"worker": index, "weights_checksum": 1.5}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
