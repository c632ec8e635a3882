#!/usr/bin/env python3
"""Run the README's `make run` for real, headless, in a checkout; drive it over HTTP; stop it with Ctrl-C.

Usage (from a fresh clone): python3 .ci/smoke_run.py [--port N] [make variables, e.g. VENV=/tmp/venv]
`make run` runs on a pseudo-terminal, as a person's shell would run it, and is stopped by typing Ctrl-C there: the
terminal sends SIGINT to its foreground process group. Then: exit status 0, no process of the run left, and no
Traceback, ERROR or make error line in the output. Stdlib only. Exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import pathlib
import pty
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

DEMO_PASSWORD = "cogrow-demo-2026"
SUPPLIER_ADMIN = "admin@seoul-precision.example.com"
STARTUP_TIMEOUT = 240  # includes creating the virtualenv and installing the project
WORK_TIMEOUT = 60
STOP_TIMEOUT = 60
BAD_LINE = re.compile(r"Traceback|\bERROR\b|make: \*\*\*|Error \d+|CRITICAL")


class Failed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """Everything the run prints, read from the terminal's master side in a thread."""

    def __init__(self, fd: int, log_path: pathlib.Path) -> None:
        self.fd, self.text, self.lock = fd, "", threading.Lock()
        self.log = log_path.open("w", encoding="utf-8")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO once every process holding the terminal has gone
                break
            if not chunk:
                break
            text = chunk.decode("utf-8", "replace").replace("\r\n", "\n")
            with self.lock:
                self.text += text
            self.log.write(text)
            self.log.flush()

    def snapshot(self) -> str:
        with self.lock:
            return self.text


class Http:
    """A tiny client: a cookie jar for the browser session, or a bearer token for the API."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.token = base, token
        handlers = [] if token else [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())]
        self.opener = urllib.request.build_opener(*handlers)

    def call(self, method: str, path: str, data=None, form: dict | None = None) -> tuple[int, str]:
        headers = {"Accept-Language": "en"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def json(self, method: str, path: str, data=None, expect=(200,)) -> dict:
        status, text = self.call(method, path, data=data)
        if status not in expect:
            raise Failed(f"{method} {path} answered {status}: {text[:500]}")
        return json.loads(text)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise Failed("no CSRF token in the form")
    return match.group(1)


def sign_in(base: str, email: str) -> Http:
    client = Http(base)
    status, html = client.call("GET", "/login")
    if status != 200:
        raise Failed(f"GET /login answered {status}")
    status, _ = client.call("POST", "/login", form={"email": email, "password": DEMO_PASSWORD,
                                                   "csrf_token": csrf_token(html)})
    me = client.json("GET", "/api/v1/me")
    print(f"  signed in over HTTP as {email} (status {status}, /api/v1/me: {json.dumps(me)[:120]})")
    return client


def create_token(session: Http) -> str:
    """An API token for the supplier's production role, made through the settings page form."""
    status, html = session.call("GET", "/settings/tokens")
    if status != 200:
        raise Failed(f"GET /settings/tokens answered {status}")
    status, html = session.call("POST", "/settings/tokens", form={
        "name": "smoke run", "role": "production", "expires_in_days": "1", "csrf_token": csrf_token(html)})
    match = re.search(r'data-test="raw-token".*?<code>([^<]+)</code>', html, re.S)
    if status != 200 or not match:
        raise Failed(f"POST /settings/tokens answered {status} without a token")
    return match.group(1).strip()


def wait_until(what: str, check, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise Failed(f"timed out after {timeout:.0f} s waiting for {what}")


def drive(base: str) -> dict[str, float]:
    """Sign in, make a token, report production that puts an item into excess, see ledger and alert follow."""
    session = sign_in(base, SUPPLIER_ADMIN)
    api = Http(base, token=create_token(session))
    me = api.json("GET", "/api/v1/me")
    print(f"  API token works: {json.dumps(me)[:120]}")
    rels = api.json("GET", "/api/v1/relationships")["data"]
    rel_id = rels[0]["id"]
    items = api.json("GET", f"/api/v1/relationships/{rel_id}/items")["data"]
    open_alerts = api.json("GET", "/api/v1/alerts")["data"]
    flagged = {a["item_id"] for a in open_alerts if a["status"] != "resolved"}
    item = next((i for i in items if i["id"] not in flagged), None)
    if item is None:
        raise Failed(f"every item of relationship {rel_id} already has an alert")
    ledger_path = f"/api/v1/relationships/{rel_id}/items/{item['id']}/ledger"
    before = api.json("GET", ledger_path)
    fg = "250000"
    as_of = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    started = time.monotonic()
    report = api.json("POST", f"/api/v1/relationships/{rel_id}/production-reports", expect=(201,), data={
        "item_id": item["id"], "as_of": as_of, "good_qty": "10", "scrap_qty": "0", "wip_qty": "0",
        "fg_on_hand": fg})
    print(f"  posted production report {report.get('id')} for item {item['id']} of relationship {rel_id}: "
          f"fg_on_hand {fg} (ledger before: fg_on_hand "
          f"{(before.get('ledger') or {}).get('fg_on_hand')}, excess {(before.get('ledger') or {}).get('excess')})")

    def ledger_moved():
        ledger = api.json("GET", ledger_path).get("ledger") or {}
        return ledger if ledger.get("fg_on_hand") and float(ledger["fg_on_hand"]) == float(fg) else None

    ledger = wait_until("the item's ledger to show the report", ledger_moved, WORK_TIMEOUT)
    ledger_seconds = time.monotonic() - started
    print(f"  ledger changed after {ledger_seconds:.1f} s: fg_on_hand {ledger['fg_on_hand']}, "
          f"excess {ledger['excess']}, exposure {ledger['exposure_amount']} {ledger['currency']}")

    def alert_raised():
        return [a for a in api.json("GET", "/api/v1/alerts")["data"]
                if a["item_id"] == item["id"] and a["status"] != "resolved"]

    alerts = wait_until("an alert on the item", alert_raised, WORK_TIMEOUT)
    alert_seconds = time.monotonic() - started
    print(f"  alert {alerts[0]['id']} ({alerts[0]['type']}) after {alert_seconds:.1f} s: {alerts[0]['explanation']}")

    def mail_caught():
        status, html = session.call("GET", "/dev/mail")
        return status == 200 and alerts[0]["prime_part_number"] in html

    wait_until("the alert's e-mail on the development mail page", mail_caught, WORK_TIMEOUT)
    mail_seconds = time.monotonic() - started
    print(f"  the alert's e-mail is on /dev/mail for {SUPPLIER_ADMIN} after {mail_seconds:.1f} s")
    return {"ledger": ledger_seconds, "alert": alert_seconds, "mail": mail_seconds}


def leftovers(marker: str, session_id: int) -> list[str]:
    """Processes of this run still alive: in the terminal's session, or carrying its var dir."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            sid = os.getsid(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
        if sid == session_id or marker.encode() in environ:
            found.append(f"{proc.name} {cmdline.strip()}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", default=None, help="where to keep the run's output")
    parser.add_argument("make_vars", nargs="*", help="extra make variables, e.g. VENV=/tmp/venv")
    args = parser.parse_args()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    var_dir = tempfile.mkdtemp(prefix="cogrow-smoke-var-")
    log_path = pathlib.Path(args.log or pathlib.Path(var_dir) / "make-run.log")
    env = dict(os.environ, COGROW_VAR_DIR=var_dir, TERM="dumb")
    env.pop("COGROW_ENV", None)
    command = ["make", "run", f"PORT={port}", *args.make_vars]
    print(f"== smoke: {' '.join(command)} in {os.getcwd()} (COGROW_VAR_DIR={var_dir})")
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty, like a shell's job
        try:
            os.execvpe("make", command, env)
        finally:
            os._exit(127)
    output = Output(fd, log_path)
    status = None
    figures: dict[str, float] = {}
    problems: list[str] = []
    try:
        wait_until(f"the printed URL {base}", lambda: base in output.snapshot(), STARTUP_TIMEOUT, 0.2)

        def page_answers():
            try:
                with urllib.request.urlopen(base + "/login", timeout=5) as response:
                    return response.status == 200
            except (OSError, urllib.error.URLError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    raise Failed("make run exited before the page answered")
                return False

        wait_until(f"{base}/login to answer", page_answers, STARTUP_TIMEOUT, 0.2)
        figures["page"] = time.monotonic() - started
        print(f"  first page after {figures['page']:.1f} s (from `make run`, including install and demo load)")
        figures.update(drive(base))
    except Failed as exc:
        problems.append(str(exc))
    finally:
        # Ctrl-C typed at the terminal: the line discipline sends SIGINT to the foreground process group.
        print("  typing Ctrl-C")
        try:
            os.write(fd, b"\x03")
        except OSError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
                break
            time.sleep(0.2)
        stop_seconds = STOP_TIMEOUT - (deadline - time.monotonic())
        if status is None:
            problems.append(f"make run still running {STOP_TIMEOUT} s after Ctrl-C")
        output.thread.join(timeout=5)
        left = leftovers(var_dir, pid)
        for line in left:
            problems.append(f"left running: {line}")
        for line in left:  # ours (same session or var dir): do not leave them behind in CI
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(fd)
    text = output.snapshot()
    bad = [line for line in text.splitlines() if BAD_LINE.search(line)]
    if status not in (0, None):
        problems.append(f"make run exited with status {status}")
    for line in bad[:20]:
        problems.append(f"log line: {line.strip()[:300]}")
    print(f"  stopped after Ctrl-C in {stop_seconds:.1f} s with status {status}; {len(text.splitlines())} log lines "
          f"in {log_path}")
    if figures.get("page") is not None:
        print(f"  time to first page: {figures['page']:.1f} s; time to ledger change: "
              f"{figures.get('ledger', float('nan')):.1f} s; time to first alert: {figures.get('alert', float('nan')):.1f} s"
              " (both from the production report's POST)")
    if problems:
        print("SMOKE FAILED:")
        for problem in problems:
            print(f"  - {problem}")
        print("---- last 40 lines of the run ----")
        print("\n".join(text.splitlines()[-40:]))
        return 1
    print("SMOKE OK")
    if args.log:  # the log is kept elsewhere; the run's data is not needed any more
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
