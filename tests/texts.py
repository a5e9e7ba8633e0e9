"""Tiny labelled texts, written in every format the text tasks read."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

POSITIVE = ["a gripping film", "wonderful acting", "superb and moving", "a delightful story", "brilliant , funny and clever"]
NEGATIVE = ["dull and slow", "a boring story", "clumsy , tedious acting", "awful from start to end", "bland and predictable"]


def reviews(copies: int = 4) -> list[tuple[str, str]]:
    """(text, label) rows, positive and negative in turn."""
    rows = []
    for _ in range(copies):
        for good, bad in zip(POSITIVE, NEGATIVE):
            rows += [(good, "positive"), (bad, "negative")]
    return rows


def write_table(path: Path, rows: list[tuple[object, object]], text: str = "text", label: str = "label") -> Path:
    """rows as CSV, TSV, JSONL or parquet (by suffix; `.gz` compresses)."""
    suffix = path.suffixes[-2] if path.suffix == ".gz" else path.suffix
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({text: [r[0] for r in rows], label: [r[1] for r in rows]}), path)
        return path
    if suffix == ".jsonl":
        content = "".join(json.dumps({text: t, label: y}) + "\n" for t, y in rows)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        writer.writerows([(text, label), *rows])
        content = buffer.getvalue()
    data = content.encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def glue_folder(folder: Path) -> Path:
    """The GLUE SST-2 layout: train.tsv.gz and dev.tsv with a `sentence\\tlabel` header, a space
    before each tab, labels 0/1; test.tsv without labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(t, "1" if y == "positive" else "0") for t, y in reviews()]
    lines = "sentence\tlabel\n" + "".join(f"{t} \t{y}\n" for t, y in rows)
    (folder / "train.tsv.gz").write_bytes(gzip.compress(lines.encode()))
    (folder / "dev.tsv").write_text("sentence\tlabel\n" + "".join(f"{t} \t{y}\n" for t, y in rows[:8]), encoding="utf-8")
    (folder / "test.tsv").write_text("index\tsentence\n" + "".join(f"{i}\t{t} \n" for i, (t, _) in enumerate(rows[:4])), encoding="utf-8")
    return folder
