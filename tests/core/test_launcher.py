"""`make run`'s launcher: Ctrl-C stops every Procfile process cleanly and exits 0; a crash stops the rest, exit 1."""
from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A Procfile process that exits 0 on SIGTERM, as gunicorn and Celery do.
GRACEFUL = ("python -c \"import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
            "print('{name} up', flush=True); time.sleep(120)\"")
CRASHING = "python -c \"import sys, time; print('crash up', flush=True); time.sleep(1); sys.exit(3)\""


def _procfile(tmp_path: Path, entries: dict[str, str]) -> Path:
    path = tmp_path / "Procfile"
    path.write_text("".join(f"{name}: {cmd}\n" for name, cmd in entries.items()) + "release: false\n")
    return path


def _env() -> dict[str, str]:
    platform = str(Path(__file__).resolve().parents[2] / "platform")
    return dict(os.environ, PYTHONPATH=platform, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


def _wait_for(read, pattern: str, timeout: float = 30) -> str:
    deadline, text = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        text = read()
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in:\n{text}")


def _pids(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"started \(pid (\d+)\)", text)]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_sigint_stops_every_process_and_exits_0(tmp_path):
    procfile = _procfile(tmp_path, {"web": GRACEFUL.format(name="web"), "worker": GRACEFUL.format(name="worker")})
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "cogrow.launcher", "--procfile", str(procfile)],
                                    stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        text = _wait_for(log.read_text, r"web up[\s\S]*worker up|worker up[\s\S]*web up")
        assert "release" not in text, "the release entry is not a process to run"
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=30) == 0
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    text = log.read_text()
    assert text.rstrip().endswith("stopped"), text
    assert len(_pids(text)) == 2 and all(_gone(pid) for pid in _pids(text))


def test_a_process_that_dies_stops_the_others_and_fails(tmp_path):
    procfile = _procfile(tmp_path, {"web": GRACEFUL.format(name="web"), "crash": CRASHING})
    result = subprocess.run([sys.executable, "-m", "cogrow.launcher", "--procfile", str(procfile)],
                            capture_output=True, text=True, env=_env(), timeout=60, start_new_session=True)
    assert result.returncode == 1
    assert "crash exited with status 3; stopping the others" in result.stdout
    assert all(_gone(pid) for pid in _pids(result.stdout))


def test_ctrl_c_in_a_terminal_reaches_the_launcher_and_not_its_parent(tmp_path):
    """make re-raises a SIGINT it receives (exit 130 whatever the recipe did): the launcher takes the foreground."""
    procfile = _procfile(tmp_path, {"web": GRACEFUL.format(name="web")})
    # The parent stands in for make: if Ctrl-C reached it, it would die of KeyboardInterrupt before printing.
    parent = ("import subprocess, sys; rc = subprocess.call([sys.executable, '-m', 'cogrow.launcher', '--procfile', "
              f"{str(procfile)!r}]); print('parent saw', rc, flush=True)")
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-c", parent], _env())
    chunks: list[bytes] = []

    def read() -> str:
        try:
            chunks.append(os.read(fd, 65536))
        except OSError:
            pass
        return b"".join(chunks).decode("utf-8", "replace")

    try:
        _wait_for(read, r"web up")
        os.write(fd, b"\x03")
        text = _wait_for(read, r"parent saw \d+")
        assert "parent saw 0" in text and "KeyboardInterrupt" not in text
        _done, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    assert all(_gone(p) for p in _pids(text))


@pytest.mark.parametrize("name", ["web"])
def test_an_unknown_entry_is_refused(tmp_path, name):
    procfile = _procfile(tmp_path, {name: GRACEFUL.format(name=name)})
    result = subprocess.run([sys.executable, "-m", "cogrow.launcher", "--procfile", str(procfile), "mail"],
                            capture_output=True, text=True, env=_env(), timeout=30)
    assert result.returncode == 2 and "not in" in result.stderr


def test_a_second_ctrl_c_kills_a_process_that_will_not_stop(tmp_path):
    stubborn = ("python -c \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('stubborn up', flush=True); time.sleep(120)\"")
    procfile = _procfile(tmp_path, {"stubborn": stubborn})
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "cogrow.launcher", "--procfile", str(procfile)],
                                    stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        _wait_for(log.read_text, r"stubborn up")
        launcher.send_signal(signal.SIGINT)
        _wait_for(log.read_text, r"stopping stubborn")
        time.sleep(0.5)
        assert launcher.poll() is None, "the first Ctrl-C waits for a graceful stop"
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=10) == 1, "a process had to be killed: not a clean stop"
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    text = log.read_text()
    assert "did not stop when asked twice; killing it" in text
    assert all(_gone(pid) for pid in _pids(text))
