"""Layout guard, configuration, the SQLite engine settings, migrations and the demo network."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select, text

from cogrow.config import Config

REPO = Path(__file__).resolve().parents[2]


def test_import_platform_from_repo_root_gives_the_standard_library():
    out = subprocess.run([sys.executable, "-c", "import platform; platform.system(); print(platform.__file__)"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    assert not out.startswith(str(REPO)), out
    assert not (REPO / "platform" / "__init__.py").exists()


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    from cogrow import create_app

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("COGROW_ENV", "production")
    monkeypatch.delenv("COGROW_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="COGROW_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("COGROW_SECRET_KEY", "k" * 40)
    with pytest.raises(RuntimeError, match="PostgreSQL"):
        create_app()


def test_development_secret_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("COGROW_SECRET_KEY", raising=False)
    monkeypatch.delenv("COGROW_ENV", raising=False)
    first = Config().SECRET_KEY
    assert len(first) >= 32 and Config().SECRET_KEY == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_broker_defaults_to_its_own_sqlite_file_and_redis_when_configured(monkeypatch, tmp_path):
    from cogrow import create_app

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    for name in ("COGROW_BROKER_URL", "COGROW_RESULT_BACKEND", "COGROW_DATABASE_URL", "COGROW_ENV"):
        monkeypatch.delenv(name, raising=False)
    embedded = create_app().extensions["celery"].conf
    assert embedded.broker_url == f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    assert embedded.task_acks_late and embedded.task_reject_on_worker_lost and embedded.worker_prefetch_multiplier == 1
    monkeypatch.setenv("COGROW_BROKER_URL", "redis://127.0.0.1:6379/3")
    redis_conf = create_app().extensions["celery"].conf
    assert redis_conf.result_backend == "redis://127.0.0.1:6379/3"
    assert redis_conf.broker_transport_options["visibility_timeout"] >= 3600
    assert redis_conf.result_backend_transport_options["visibility_timeout"] >= 3600


def test_sqlite_runs_in_wal_mode_and_concurrent_writers_do_not_lock(monkeypatch, tmp_path):
    """Web, worker and beat are separate connections writing at once: none may see 'database is locked'."""
    from cogrow import create_app
    from cogrow.extensions import db

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("COGROW_DATABASE_URL", raising=False)
    app = create_app({"SQLITE_BUSY_TIMEOUT_MS": 30000})
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
            conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
        errors: list[Exception] = []

        def writer():
            try:
                for _ in range(40):
                    with engine.begin() as conn:
                        n = conn.exec_driver_sql("SELECT n FROM counter").scalar()  # read, then write
                        conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with engine.connect() as conn:
            total = conn.exec_driver_sql("SELECT n FROM counter").scalar()
        engine.dispose()
    assert errors == []
    assert total == 160  # read-then-write under BEGIN IMMEDIATE loses no update


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cogrow.extensions import db as database
    from cogrow.production.partitions import unplanned_differences

    with app.app_context(), database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        # On PostgreSQL the monthly partitions (migration 0013) differ from the models on purpose, and only so.
        diff = unplanned_differences(compare_metadata(context, database.metadata))
    assert diff == []


def test_demo_network_is_loaded_once(app, db):
    from cogrow.accounts.models import Membership, Organisation
    from cogrow.catalog.models import Item
    from cogrow.demo import load_demo
    from cogrow.relationships.models import SupplyRelationship

    assert load_demo() is True
    kinds = dict(db.session.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind)).all())
    assert kinds == {"prime": 2, "supplier": 6}
    per_supplier = db.session.execute(select(SupplyRelationship.supplier_id, func.count())
                                      .group_by(SupplyRelationship.supplier_id)).all()
    assert sorted(c for _, c in per_supplier)[-1] == 2  # one supplier serves both primes
    rels = db.session.scalars(select(SupplyRelationship)).all()
    items = dict(db.session.execute(select(Item.relationship_id, func.count()).group_by(Item.relationship_id)).all())
    assert all(items.get(r.id, 0) > 0 for r in rels)
    roles = {r for (r,) in db.session.execute(select(Membership.role).distinct())}
    assert roles == {"admin", "planner", "procurement", "production"}
    assert load_demo() is False
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 8


def test_health_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": True}


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


# --- forms (cogrow.core.forms) and the top bar (base.html) ----------------------------------------------------

def _form(app, cls, data, **kwargs):
    from werkzeug.datastructures import MultiDict

    before = app.config["WTF_CSRF_ENABLED"]
    with app.test_request_context(method="POST", data=data):
        app.config["WTF_CSRF_ENABLED"] = False
        try:
            form = cls(formdata=MultiDict(data), **kwargs)
            return form, form.validate()
        finally:
            app.config["WTF_CSRF_ENABLED"] = before  # the session's app is shared: leave it as it was


def test_form_fields_parse_like_the_api_and_the_importers(app):
    from decimal import Decimal

    from cogrow.core import fields
    from cogrow.core.forms import BaseForm, DateField, PartNumberField, QuantityField

    class F(BaseForm):
        part = PartNumberField("Part", required=True)
        qty = QuantityField("Quantity")
        due = DateField("Due")

    form, ok = _form(app, F, {"part": " ha-brk-1001 ", "qty": "1,280", "due": "2026-12-07"})
    assert ok, form.errors
    assert (form.part.data, form.qty.data, str(form.due.data)) == ("HA-BRK-1001", Decimal("1280"), "2026-12-07")

    # The same refusals, with the parser's own words, as core.fields gives the API and the importers.
    form, ok = _form(app, F, {"part": "PN\u3164 1", "qty": "1,28", "due": ""})
    assert not ok
    with app.test_request_context():
        for name, bad in (("part", "PN\u3164 1"), ("qty", "1,28")):
            parser = fields.part_number if name == "part" else (lambda v: fields.quantity(v, grouping=True))
            with pytest.raises(fields.FieldError) as refused:
                parser(bad)
            assert form.errors_by_name()[name] == refused.value.message
    assert "due" not in form.errors  # blank and optional: no value, no error
    # What the user typed is shown again beside the error.
    assert form.qty._value() == "1,28"

    form, ok = _form(app, F, {"part": "   ", "qty": ""})
    assert not ok and set(form.errors) == {"part"}


def test_select_fields_refuse_values_outside_their_choices(app):
    from cogrow.core.forms import BaseForm, SelectField, choices

    class F(BaseForm):
        role = SelectField("Role", required=True, choices=choices([("planner", "Planner"), ("admin", "Admin")]))

    assert _form(app, F, {"role": "admin"})[1]
    form, ok = _form(app, F, {"role": "owner"})
    assert not ok and "role" in form.errors


def test_top_bar_puts_settings_in_the_account_menu_and_leads_with_a_skip_link(client, db, tenant_a):
    import re

    from tests.conftest import sign_in

    sign_in(client, tenant_a.users["prime:admin"])
    page = client.get("/home", headers={"Accept-Language": "en"}).get_data(as_text=True)
    body = page[page.index("<body"):]
    # The skip link is the first link of the page and points at <main id="main">.
    assert re.search(r"<a [^>]*>", body).group(0).startswith('<a class="skip-link" href="#main"')
    assert '<main class="page" id="main"' in body
    nav = body[body.index('<nav class="mainnav"'):body.index("</nav>")]
    menu = body[body.index('data-test="settings-menu"'):]
    menu = menu[:menu.index("</details>")]
    for href in ("/settings/users", "/settings/invitations", "/settings/tokens", "/settings/webhooks",
                 "/settings/audit", "/settings/account"):
        assert f'href="{href}"' in menu and f'href="{href}"' not in nav, href
    # The production page is named for what it shows, not with the role's name.
    assert ">Production status<" in nav and ">Production<" not in nav
    # The unread count refreshes from the alerts fragment.
    assert 'hx-get="/alerts/unread-count"' in body and 'hx-trigger="every 60s"' in body

    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get("/home", headers={"Accept-Language": "en"}).get_data(as_text=True)
    menu = page[page.index('data-test="settings-menu"'):]
    menu = menu[:menu.index("</details>")]
    assert 'href="/settings/account"' in menu and 'href="/settings/users"' not in menu


def test_users_page_labels_each_role_select(client, db, tenant_a):
    import re

    from tests.conftest import sign_in

    sign_in(client, tenant_a.users["prime:admin"])
    page = client.get("/settings/users").get_data(as_text=True)
    selects = re.findall(r'<select[^>]*id="(role-\d+)"', page)
    assert len(selects) == 3
    for select_id in selects:
        assert f'<label class="visually-hidden" for="{select_id}">' in page
    assert "<th></th>" not in page and "<th scope=\"col\"></th>" not in page


@pytest.mark.parametrize("value", ["١٢", "²", "12.0", "-3", ""])
def test_choice_ids_take_ascii_digits_only(app, value):
    from cogrow.core.forms import record_id

    with app.test_request_context(), pytest.raises(ValueError):
        record_id(value)


def test_choice_ids_read_plain_and_full_width_digits(app):
    from cogrow.core.forms import record_id

    with app.test_request_context():
        assert record_id("12") == 12 and record_id("１２") == 12 and record_id(7) == 7
