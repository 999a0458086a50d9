r"""Write an image folder (one sub-folder per class) as sharded TFRecord files that
`apps/train.py --data-dir DIR` streams, each worker of several reading only its own shards:

    python apps/make_tfrecords.py --data-dir ~/imagenet/train --val-dir ~/imagenet/val \
        --output ~/imagenet-tfrecords

Each record is the original encoded file and its label; files that do not decode are left out
and counted. The manifest (classes, each split's files with their counts and byte sizes, and its
examples per class) is written last; training checks every shard against it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="image folder, one sub-folder per class")
    p.add_argument("--output", required=True, help="directory to write the shards into")
    p.add_argument("--val-dir", help="validation image folder (default: hold out --val-split)")
    p.add_argument("--val-split", type=float, default=0.1,
                   help="fraction of each class held out for validation, as train.py holds it "
                        "out (default 0.1; 0: no validation shards)")
    p.add_argument("--shards", type=int, help="shards per split (default: ~256 MB each, a "
                                              "multiple of 16)")
    return p


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.data import DataError
    from keras_wrn.data.folder import list_image_folder, split_per_class
    from keras_wrn.data.tfrecord import MANIFEST, write_tfrecord_dir

    output = Path(args.output)
    try:
        if args.shards is not None and args.shards < 1:
            raise DataError(f"--shards must be >= 1, got {args.shards}.")
        if (output / MANIFEST).exists():
            raise DataError(f"{output} already holds TFRecords; delete it or choose another "
                            f"--output.")
        paths, labels, classes = list_image_folder(args.data_dir)
        if args.val_dir:
            val_paths, val_labels, _ = list_image_folder(args.val_dir, classes, training=False)
            splits = {"train": (paths, labels), "validation": (val_paths, val_labels)}
        elif args.val_split > 0:
            train, val = split_per_class(paths, labels, args.val_split)
            splits = {"train": train, "validation": val}
        else:
            splits = {"train": (paths, labels)}
        start = time.perf_counter()
        entries = write_tfrecord_dir(output, str(args.data_dir), classes, splits, args.shards)
    except DataError as err:
        fail(str(err))
    for name, entry in entries.items():
        skipped = f", {entry['skipped']} unreadable left out" if entry["skipped"] else ""
        print(f"{name}: {entry['examples']} images in {len(entry['files'])} shards{skipped}")
    print(f"wrote {output} in {time.perf_counter() - start:.1f}s; train with "
          f"apps/train.py --data-dir {output}")


if __name__ == "__main__":
    main()
