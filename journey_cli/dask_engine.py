"""Classify many CSV files on a Dask cluster: one task per file, each written beside the others.

For teams whose posts outgrow one machine. The model is sent to the workers once; each worker
reads its file with journey's own reader (so every check of `journey classify` applies),
classifies it chunk by chunk and writes the result into the output folder, byte for byte what
`journey classify FILE` writes. On a real cluster the output folder must be one the workers can
write to (a shared disk). In your own Dask pipelines, use `classify.classify_partition` with
`dask.dataframe.map_partitions`.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import DataError, missing_extra
from .model import JourneyModel
from .reading import InputOptions


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
    source: InputOptions | None = None,
    fmt: str = "csv",
    raw: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    **options: Any,
) -> list[FileResult]:
    """Classify every file matching `pattern` on Dask, one output file per input in `output_dir`.

    `source` says how to read the files (the default finds everything). `scheduler` is the
    address of a running Dask scheduler; without it a local cluster of `workers` processes is
    started for the run. `options` go to `classify_table`.
    """
    try:
        import dask
        from distributed import Client, LocalCluster, wait
    except ImportError:
        raise missing_extra("--engine dask", "dask") from None
    files = sorted(glob.glob(pattern)) or ([pattern] if Path(pattern).is_file() else [])
    if not files:
        raise DataError(f"no files match {pattern!r}; quote the pattern so the shell leaves it to journey")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = [Path(file).name if fmt == "csv" else f"{Path(file).stem}.{fmt}" for file in files]
    if len(set(names)) < len(names):
        raise DataError("two input files have the same name; their outputs would overwrite each other")
    for file, name in zip(files, names, strict=True):
        if (output_dir / name).exists() and (output_dir / name).samefile(file):
            raise DataError(f"--output-dir {output_dir} holds the inputs; choose another folder so they are kept")
    # The first file's header decides the text column and is checked before any work is sent.
    source = source or InputOptions()
    first = source.read(files[0])
    first.close()
    source = replace(source, text_column=first.text_column)

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        from .parallel import default_workers

        cluster = LocalCluster(
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # a bad file is reported once, as journey's one-line error
        )
        client = Client(cluster)
    try:
        shared_model = client.scatter(model, broadcast=True)
        # Each file is written beside its final name and renamed only once every file has worked,
        # so a bad file anywhere leaves the output folder as it was.
        parts = [output_dir / f".{name}.{os.getpid()}.part" for name in names]
        tasks = [
            dask.delayed(_classify_file)(shared_model, file, str(part), fmt, raw, source, options)
            for file, part in zip(files, parts, strict=True)
        ]
        try:
            futures = client.compute(tasks)
            wait(futures)  # every task done, failed or not, before any file is renamed or removed
            rows = [future.result() for future in futures]
            for part, name in zip(parts, names, strict=True):
                os.replace(part, output_dir / name)
        finally:
            for part in parts:
                part.unlink(missing_ok=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [FileResult(file, output_dir / name, count) for file, name, count in zip(files, names, rows, strict=True)]


def _classify_file(
    model: JourneyModel, file: str, output: str, fmt: str, raw: bool, source: InputOptions, options: dict[str, Any]
) -> int:
    """Classify one file into `output` (replaced only once complete); returns its number of rows."""
    from .classify import classify_chunks
    from .writing import replacing, write_table

    try:
        table = source.read(file)
    except DataError as error:
        raise DataError(str(error) if file in str(error) else f"{file}: {error}") from None
    with replacing(output, "wb") as stream:
        return write_table(classify_chunks(model, table.chunks, table.text_column, **options), stream, fmt, raw=raw)
