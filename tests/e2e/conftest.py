"""Fixtures for browser tests: the real app served on a free port, and Chromium through Playwright."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# The application object behind `live_server` (for tests that look up ids in its database): see `live_app`.
_LIVE: dict = {}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@contextmanager
def serve_demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """A new application with migrations and demo data in its own var dir, served by werkzeug in a daemon thread.

    Yields (base URL, app). `live_server` is one of these shared by the session; a test module that changes data
    other tests read (the accessibility scan adds a shipment) serves its own.
    """
    from werkzeug.serving import make_server

    var_dir = tmp_path_factory.mktemp("cogrow-e2e-var")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COGROW_VAR_DIR", str(var_dir))
        # Raise the login limits rather than set COGROW_RATELIMIT_ENABLED=false: the Limiter is one
        # module-level object and init_app() stores `enabled` on it, so a disabled e2e app would
        # silently switch rate limiting off for every other app built in the same pytest session.
        mp.setenv("COGROW_LOGIN_RATE_LIMIT", "1000 per minute")
        mp.setenv("COGROW_LOGIN_ACCOUNT_RATE_LIMIT", "1000 per minute")
        # A SQLite file in the var dir, whatever the surrounding environment says.
        for name in ("COGROW_DATABASE_URL", "COGROW_ENV", "COGROW_RATELIMIT_ENABLED"):
            mp.delenv(name, raising=False)

        from flask_migrate import upgrade

        from cogrow import create_app
        from cogrow.config import Config
        from cogrow.demo import load_demo
        from cogrow.extensions import db

        app = create_app(Config())
        assert app.config["WTF_CSRF_ENABLED"], "e2e tests run with CSRF on, like production"
        with app.app_context():
            upgrade()
            assert load_demo(), "the e2e database should start empty"

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="cogrow-e2e-server", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", app
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The application with migrations and demo data, served by werkzeug in a daemon thread."""
    with serve_demo_app(tmp_path_factory) as (url, app):
        _LIVE["app"] = app
        yield url


@pytest.fixture(scope="session")
def live_app(live_server: str):
    """The Flask app that `live_server` serves (use `with live_app.app_context():` to read its database)."""
    return _LIVE["app"]


@pytest.fixture(scope="session")
def browser():
    from tests.services import require_chromium

    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, live_server: str):
    """A fresh browser context (cookies, storage) per test, Korean by default."""
    context = browser.new_context(locale="ko-KR", base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception:  # a screenshot is a courtesy, never a second failure
                pass
        context.close()
