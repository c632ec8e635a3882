"""The contract run (run_schemathesis.py) as a test: Schemathesis against gunicorn on PostgreSQL, one run per
role token, no 5xx, no answer outside the schema, no foreign tenant's data.

It runs in the PostgreSQL pass of `make test` only (`postgres_only`: the SQLite pass deselects it, and the run
brings its own database, `cogrow_schemathesis`, on the same server). `-m "not contract"` leaves it out.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import port_open, unavailable

pytestmark = [pytest.mark.contract, pytest.mark.postgres_only]

SCRIPT = Path(__file__).with_name("run_schemathesis.py")


def _database_url() -> str:
    """The contract database on the server the PostgreSQL pass uses (COGROW_CONTRACT_DATABASE_URL overrides)."""
    explicit = os.environ.get("COGROW_CONTRACT_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("COGROW_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    return base.rsplit("/", 1)[0] + "/cogrow_schemathesis"


def test_schemathesis_finds_no_server_error_schema_violation_or_foreign_data(capsys):
    url = _database_url()
    host_port = url.split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    if not port_open(host or "127.0.0.1", int(port or 5432)):
        unavailable(f"PostgreSQL on {host_port}")
    if not (Path(sys.executable).parent / "schemathesis").exists():
        unavailable("schemathesis (pip install -e '.[dev]')")
    result = subprocess.run([sys.executable, str(SCRIPT), "--database-url", url], capture_output=True, text=True,
                            timeout=1200, cwd=str(SCRIPT.parents[2]))
    output = result.stdout + result.stderr
    summary = output[output.rfind("=== contract run"):] if "=== contract run" in output else output[-3000:]
    with capsys.disabled():  # the figures belong in the test run's output, pass or fail
        print("\n" + summary)
    assert result.returncode == 0, output[-20000:]
    # The PO chain of the declared links really ran: drafted, issued by the planner, acknowledged by the supplier.
    chain = re.search(r"PO workflow \(2xx answers\): (\d+) created, (\d+) issued, (\d+) acknowledged", output)
    assert chain is not None and min(int(n) for n in chain.groups()) > 0, summary
