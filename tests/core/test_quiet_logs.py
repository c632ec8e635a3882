"""An idle process says little at INFO: building the app logs nothing from Alembic."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_creating_the_app_logs_no_alembic_plugin_lines(tmp_path):
    platform = str(Path(__file__).resolve().parents[2] / "platform")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGROW_")}
    env.update(COGROW_VAR_DIR=str(tmp_path), PYTHONPATH=platform)
    result = subprocess.run([sys.executable, "-c", "from cogrow import create_app; create_app()"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "alembic" not in result.stderr + result.stdout
