"""Build a TF Serving REST request for images, and the answer TF Serving gives to it, computed by
running the same signature of the SavedModel locally (no server needed).

    python apps/serving_request.py --model exports/NAME/1 IMAGE... > request.json
    curl -d @request.json http://localhost:8501/v1/models/NAME:predict

The request uses the `serve_bytes` signature in row format, images as {"b64": ...} (TF Serving
base64-decodes inputs whose name ends in `_bytes`); the answer is printed to stderr.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from _app import decode_image_file, fail, guarded, parse


def request_body(images: list[str]) -> dict:
    return {"signature_name": "serve_bytes",
            "instances": [{"b64": base64.b64encode(Path(p).read_bytes()).decode()}
                          for p in images]}


def local_answer(model: str, body: dict) -> dict:
    """{"predictions": [...]} as TF Serving returns it for a row-format request."""
    import tensorflow as tf

    signature = tf.saved_model.load(model).signatures[body["signature_name"]]
    data = [base64.b64decode(item["b64"]) for item in body["instances"]]
    outputs = signature(image_bytes=tf.constant(data))

    def plain(value):
        value = value.numpy().tolist()
        return [[v.decode() if isinstance(v, bytes) else v for v in row] for row in value]

    columns = {name: plain(tensor) for name, tensor in outputs.items()}
    return {"predictions": [{name: columns[name][i] for name in sorted(columns)}
                            for i in range(len(data))]}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="SavedModel version directory")
    parser.add_argument("images", nargs="+")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    if not (Path(args.model) / "saved_model.pb").is_file():
        fail(f"{args.model} is not a SavedModel directory (exports/NAME/VERSION).")
    for image in args.images:  # all of them, before the first byte of the request
        decode_image_file(image)
    body = request_body(args.images)
    print(json.dumps(body))
    print(json.dumps(local_answer(args.model, body)), file=sys.stderr)


if __name__ == "__main__":
    main()
