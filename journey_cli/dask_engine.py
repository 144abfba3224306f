"""Classify many CSV files on a Dask cluster: each file one partition, scored by `classify_partition`.

For teams whose posts outgrow one machine. The model is sent to the workers once; each worker
reads its file with pandas (every cell as text), adds the result columns with
`classify.classify_partition` (the function to use with `dask.dataframe.map_partitions` in
your own pipelines) and writes the result beside the others in the output folder, in the same format and
byte for byte what `journey classify FILE` writes. On a real cluster the output folder must be
one the workers can write to (a shared disk).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataError
from .model import JourneyModel
from .reading import read_posts


@dataclass
class FileResult:
    source: str
    output: Path
    rows: int


def classify_files_with_dask(
    model: JourneyModel,
    pattern: str,
    output_dir: str | Path,
    *,
    text_column: str | None = None,
    fmt: str = "csv",
    scheduler: str | None = None,
    workers: int | None = None,
    **options: Any,
) -> list[FileResult]:
    """Classify every file matching `pattern` on Dask, one output file per input in `output_dir`.

    `scheduler` is the address of a running Dask scheduler; without it a local cluster of
    `workers` processes is started for the run. `options` go to `classify_partition`.
    """
    try:
        import dask
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        raise DataError("the dask engine needs Dask: pip install 'journey[dask]'") from None
    files = sorted(glob.glob(pattern)) or ([pattern] if Path(pattern).is_file() else [])
    if not files:
        raise DataError(f"no files match {pattern!r}; quote the pattern so the shell leaves it to journey")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = [Path(file).name if fmt == "csv" else f"{Path(file).stem}.{fmt}" for file in files]
    if len(set(names)) < len(names):
        raise DataError("two input files have the same name; their outputs would overwrite each other")
    # The first file's header decides the text column and is checked before any work is sent.
    first = read_posts(files[0], text_column=text_column)
    first.close()
    text_column = first.text_column

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        from .parallel import default_workers

        cluster = LocalCluster(
            n_workers=workers or default_workers(), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        frame = dd.read_csv(files, dtype=str, keep_default_na=False, na_filter=False, blocksize=None)
        shared_model = client.scatter(model, broadcast=True)
        from .classify import classify_partition

        classified = frame.map_partitions(
            classify_partition, shared_model, text_column, meta=_meta(model, frame, text_column, **options), **options
        )
        writes = [
            dask.delayed(_write_partition)(part, str(output_dir / name), fmt)
            for part, name in zip(classified.to_delayed(), names, strict=True)
        ]
        rows = dask.compute(*writes)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [FileResult(file, output_dir / name, count) for file, name, count in zip(files, names, rows, strict=True)]


def _meta(model: JourneyModel, frame: Any, text_column: str, **options: Any) -> Any:
    """The columns and types of a classified partition: those of classifying no rows."""
    from .classify import classify_partition

    return classify_partition(frame._meta, model, text_column, **options)


def _write_partition(frame: Any, path: str, fmt: str) -> int:
    import pyarrow as pa

    from .writing import replacing, write_table

    table = pa.Table.from_pandas(frame, preserve_index=False)
    with replacing(path, "wb") as stream:
        return write_table([table], stream, fmt)
