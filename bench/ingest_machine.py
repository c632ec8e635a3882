"""Benchmark: machine counter readings through the real HTTP API, against the same two floors as production reports.

The machine feed of bench/ingest_production.py (`--feed machine`), under its own name; every option is the same.

    .venv/bin/python bench/ingest_machine.py [--seconds 15] [--clients 16] [--batches 20]
    .venv/bin/python bench/ingest_machine.py --cpu [--singles 1000] [--profile]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_production import main  # noqa: E402  (the one bench; this file only picks its feed)

if __name__ == "__main__":
    main(default_feed="machine")
