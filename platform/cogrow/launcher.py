"""Run the Procfile's processes for `make run` and stop them cleanly on Ctrl-C: `python -m cogrow.launcher`.

honcho sends SIGTERM to each process *group*, so Celery's pool children are killed under their parent (which logs
them as errors) and anything slower than 5 s is SIGKILLed; it then exits 130. Here each process gets SIGTERM on its
main pid only (gunicorn, Celery worker and beat all shut down gracefully on it), and a requested stop whose
processes all exit 0 exits 0. In a terminal the launcher takes the foreground, so Ctrl-C reaches it and not make
(make re-raises any SIGINT it receives and would exit 130 whatever its recipe did).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from honcho.environ import parse_procfile

STOP_TIMEOUT_SECONDS = 30


def read_procfile(path: Path) -> dict[str, str]:
    """The `name: command` lines of a Procfile, in order (honcho's parser: only its process control differs)."""
    return dict(parse_procfile(path.read_text(encoding="utf-8")).processes)


class Terminal:
    """Make this process the terminal's foreground group while it runs, so Ctrl-C is delivered here only."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.previous: int | None = None

    def take(self) -> None:
        try:
            fd = os.open("/dev/tty", os.O_RDWR)
        except OSError:
            return  # no terminal (CI, a service manager): signals come straight to us
        try:
            if os.tcgetpgrp(fd) != os.getpgrp():
                os.close(fd)
                return  # started in the background: leave the terminal alone
            self.previous = os.getpgrp()
            os.setpgid(0, 0)
            self._set_foreground(fd, os.getpgrp())
            self.fd = fd
        except OSError:
            os.close(fd)

    def give_back(self) -> None:
        if self.fd is None:
            return
        try:
            self._set_foreground(self.fd, self.previous)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    @staticmethod
    def _set_foreground(fd: int, pgrp: int) -> None:
        # A process outside the foreground group that changes it gets SIGTTOU unless it ignores it.
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(fd, pgrp)
        finally:
            signal.signal(signal.SIGTTOU, old)


class Launcher:
    """Start named Procfile processes, print their output with a prefix, stop them all together."""

    def __init__(self, commands: dict[str, str], env: dict[str, str]) -> None:
        self.commands = commands
        self.env = env
        self.width = max(len(n) for n in commands) + 2
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_requested = threading.Event()
        self.hurry = threading.Event()  # a second Ctrl-C: do not wait for graceful shutdowns
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def say(self, name: str, text: str) -> None:
        with self.lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}}| {text}\n")
            sys.stdout.flush()

    def start(self) -> None:
        for name, command in self.commands.items():
            # `exec` makes the shell become the program, so the pid we signal is gunicorn's or Celery's own.
            child = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            self.children[name] = child
            self.say("system", f"{name} started (pid {child.pid})")
            thread = threading.Thread(target=self._pump, args=(name, child), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _pump(self, name: str, child: subprocess.Popen) -> None:
        for raw in iter(child.stdout.readline, b""):
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def running(self) -> list[str]:
        return [n for n, c in self.children.items() if c.poll() is None]

    def stop(self) -> bool:
        """SIGTERM every running process, wait for them, SIGKILL what is left; True when none had to be killed."""
        for name in self.running():
            self.say("system", f"stopping {name}")
            try:
                self.children[name].send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self.running() and time.monotonic() < deadline and not self.hurry.is_set():
            time.sleep(0.1)
        clean = True
        for name in self.running():
            clean = False
            self.say("system", f"{name} did not stop {'when asked twice' if self.hurry.is_set() else f'within {STOP_TIMEOUT_SECONDS} s'}; killing it")
            try:
                os.killpg(self.children[name].pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name, child in self.children.items():
            child.wait()
            # Pool children and gunicorn workers live in the process's own group: make sure none outlive it.
            try:
                os.killpg(child.pid, signal.SIGKILL)
                clean = False
                self.say("system", f"{name} left processes behind; killed them")
            except (ProcessLookupError, PermissionError):
                pass
        for thread in self.threads:
            thread.join(timeout=2)
        return clean

    def run(self) -> int:
        def on_signal(signum, _frame):
            if self.stop_requested.is_set():
                self.say("system", f"{signal.Signals(signum).name} again: killing what is still running")
                self.hurry.set()
                return
            self.say("system", f"{signal.Signals(signum).name} received: stopping everything")
            self.stop_requested.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGHUP, on_signal)
        self.start()
        failed = None
        while not self.stop_requested.is_set():
            for name, child in self.children.items():
                if child.poll() is not None:
                    failed = (name, child.returncode)
                    break
            if failed:
                self.say("system", f"{failed[0]} exited with status {failed[1]}; stopping the others")
                break
            self.stop_requested.wait(0.2)
        clean = self.stop()
        codes = {n: c.returncode for n, c in self.children.items()}
        if failed or not clean or any(codes.values()):
            self.say("system", "stopped with errors: " + ", ".join(f"{n} {c}" for n, c in codes.items()))
            return 1
        self.say("system", "stopped")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="Procfile entries to run (default: all but release)")
    parser.add_argument("--port", default=os.environ.get("PORT", "5000"))
    parser.add_argument("--procfile", default="Procfile")
    args = parser.parse_args(argv)
    entries = read_procfile(Path(args.procfile))
    names = args.names or [n for n in entries if n != "release"]
    unknown = [n for n in names if n not in entries]
    if unknown:
        parser.error(f"not in {args.procfile}: {', '.join(unknown)}")
    env = dict(os.environ, PORT=str(args.port), PYTHONUNBUFFERED="1")
    terminal = Terminal()
    terminal.take()
    try:
        return Launcher({n: entries[n] for n in names}, env).run()
    finally:
        terminal.give_back()


if __name__ == "__main__":
    sys.exit(main())
