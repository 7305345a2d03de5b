"""Shared by the benchmark scripts: print a titled table and append it to bench/RESULTS.md."""
from __future__ import annotations

import datetime
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def report(heading: str, script: str, argv: list[str] | None, table: str, record: str | Path | None) -> None:
    """Print `### heading`, the date and exact command, and the table; append them to `record`."""
    args = " ".join(argv if argv is not None else sys.argv[1:])
    title = f"### {heading}\n{datetime.date.today().isoformat()} — `python {script} {args}`".rstrip()
    print(f"{title}\n\n{table}")
    if record:
        with open(record, "a") as f:
            f.write(f"\n{title}\n\n{table}\n")
