"""What the first bytes of a file say it is: the signatures journey checks before it reads a file."""

from __future__ import annotations

ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # an archive (a model file, an xlsx workbook); the second: an empty one
OLE = b"\xd0\xcf\x11\xe0"  # old Office files (.xls)
COMPRESSED = {"zlib": b"\x78", "gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00", "lzma": b"\x5d\x00\x00"}
DOCUMENTS = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
    b"PAR1": "a Parquet file",
}
"""Files that are neither text nor a model, which people pass by mistake, in words."""
