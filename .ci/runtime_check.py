#!/usr/bin/env python3
"""Import every module of the product (platform/cogrow, workers/) in the interpreter that runs this script.

Run it with a runtime-only virtualenv's python (`pip install .`, no extras) from the repository root, so that a
module that imports a development-only package fails here instead of in `make run`. Exit 1 listing each failure.
"""
from __future__ import annotations

import importlib
import os
import pathlib
import sys
import tempfile
import traceback

ROOT = pathlib.Path.cwd()
# Alembic's env.py and revision files run only inside `flask db`; importing them alone has no migration context.
SKIP_PARTS = {"migrations", "__pycache__"}


def module_names() -> list[str]:
    """Dotted names of every .py file under platform/cogrow and workers/, packages first."""
    names = []
    for base, prefix_root in ((ROOT / "platform" / "cogrow", ROOT / "platform"), (ROOT / "workers", ROOT)):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(prefix_root)
            if SKIP_PARTS & set(rel.parts):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return sorted(set(names), key=lambda n: (n.count("."), n))


def main() -> int:
    # Importing workers.celery_app builds the app, which creates its var directory: keep that out of the clone.
    os.environ.setdefault("COGROW_VAR_DIR", tempfile.mkdtemp(prefix="cogrow-import-check-"))
    sys.path.insert(0, str(ROOT))  # workers/ is not an installed package; cogrow must come from site-packages
    failures = []
    names = module_names()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001  (any failure to import is what this check reports)
            failures.append((name, exc, traceback.format_exc(limit=-3)))
    import cogrow

    print(f"imported {len(names) - len(failures)} of {len(names)} modules with {sys.executable} "
          f"(cogrow from {pathlib.Path(cogrow.__file__).parent})")
    for name, exc, tb in failures:
        print(f"FAILED {name}: {type(exc).__name__}: {exc}\n{tb}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
