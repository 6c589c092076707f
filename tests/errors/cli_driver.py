"""Run CLI cases in one process: ``python cli_driver.py cases.json`` (cwd: the working folder).

Each case (``{"id", "argv"}``) calls ``vbt.cli.main(argv)`` with file descriptors 1 and 2
redirected to files, so every byte written to stdout or stderr (by Python, a library, a logger or
C code) is caught. Prints a JSON list of ``{"id", "rc", "stdout", "stderr", "changed"}``, where
``changed`` lists the files of the working folder added, removed or modified by the case.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def run(argv: list[str]) -> tuple[int, str, str]:
    from vbt.cli import main

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            try:
                rc = main(argv)
            except SystemExit as exc:  # --help / --version only
                rc = exc.code
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return rc, out.read().decode(), err.read().decode()


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    work = Path.cwd()
    results = []
    for case in cases:
        before = snapshot(work)
        rc, out, err = run(case["argv"])
        after = snapshot(work)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        results.append(
            {"id": case["id"], "rc": rc, "stdout": out, "stderr": err, "changed": changed}
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
