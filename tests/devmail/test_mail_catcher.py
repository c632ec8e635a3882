"""The development mail catcher: alert e-mail written to files in the embedded default, read by the right admin."""
from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from sqlalchemy import select

from cogrow.alerts import notify, services
from cogrow.config import Config
from cogrow.core.mail import write_message
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger
from tests.conftest import sign_in


@pytest.fixture
def mail_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_DIR", str(folder))
    # Nothing listens here: a message that went by SMTP would fail instead of landing in the folder.
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 1)
    return folder


def _message(to: str, subject: str, body: str = "Hello.") -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "Cogrow <no-reply@cogrow.localhost>", to
    message.set_content(body)
    return message


@pytest.mark.parametrize("env, expected", [
    ({"COGROW_ENV": "development"}, "file"),
    ({"COGROW_ENV": "development", "COGROW_MAIL_SERVER": "mail.example.com"}, "smtp"),
    ({"COGROW_ENV": "production"}, "smtp"),
    ({"COGROW_ENV": "production", "COGROW_MAIL_BACKEND": "file"}, "file"),
])
def test_the_embedded_default_catches_mail_and_production_sends_it(monkeypatch, tmp_path, env, expected):
    for name in ("COGROW_ENV", "COGROW_MAIL_SERVER", "COGROW_MAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    assert cfg.MAIL_BACKEND == expected
    assert cfg.MAIL_DIR == str(tmp_path / "mail")


def test_an_unknown_mail_backend_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("COGROW_MAIL_BACKEND", "carrier-pigeon")
    with pytest.raises(RuntimeError, match="MAIL_BACKEND"):
        Config().validate()


def test_an_alert_email_lands_in_the_mail_folder_as_a_readable_message(db, tenant_a, mail_dir):
    put_ledger(db, tenant_a.item, fg_on_hand=1540, wip=200, supply=1740, guaranteed=1200, open_po=800,
               firm_uncovered=400, excess=540, exposure_amount=8100000)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id], utcnow())
    db.session.commit()
    row = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify")
                             .order_by(OutboxEvent.id.desc())).first()
    deliveries = notify.dispatch(row.id).emails
    assert deliveries
    assert {notify.send_email(d).status for d in deliveries} == {"sent"}
    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == len(deliveries)
    messages = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
    procurement = tenant_a.users["prime:procurement"].email
    (mine,) = [m for m in messages if m["To"].addresses[0].addr_spec == procurement]
    assert mine["Subject"].startswith("[Cogrow]") and mine["Date"] is not None
    assert tenant_a.item.prime_part_number in mine.get_content()
    assert "/alerts/" in mine.get_content()
    assert not list(mail_dir.glob(".*.part")), "no half-written files are left"


def test_an_admin_reads_the_mail_of_their_own_organisation_only(app, db, tenant_a, tenant_b, mail_dir):
    own = write_message(_message(tenant_a.users["prime:procurement"].email, "For A procurement", "Body for A."),
                        mail_dir)
    foreign = write_message(_message(tenant_b.users["prime:procurement"].email, "For B procurement"), mail_dir)
    supplier_side = write_message(_message(tenant_a.users["supplier:production"].email, "For A's supplier"),
                                  mail_dir)
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:admin"])
    page = client.get("/dev/mail")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "For A procurement" in html
    assert "For B procurement" not in html and "For A&#39;s supplier" not in html and "For A's supplier" not in html
    shown = client.get(f"/dev/mail/{own.name}")
    assert shown.status_code == 200 and "Body for A." in shown.get_data(as_text=True)
    assert client.get(f"/dev/mail/{foreign.name}").status_code == 404
    assert client.get(f"/dev/mail/{supplier_side.name}").status_code == 404
    assert client.get("/dev/mail/..%2Fsecret_key").status_code == 404
    assert client.get("/dev/mail/missing.eml").status_code == 404
    home = client.get("/home")
    assert "/dev/mail" in home.get_data(as_text=True), "linked from the admin's home"


def test_the_pages_are_not_there_in_production_nor_for_other_roles(app, db, tenant_a, mail_dir, monkeypatch):
    own = write_message(_message(tenant_a.users["prime:admin"].email, "For A admin"), mail_dir)
    admin = app.test_client()
    sign_in(admin, tenant_a.users["prime:admin"])
    planner = app.test_client()
    sign_in(planner, tenant_a.users["prime:planner"])
    assert admin.get("/dev/mail").status_code == 200
    assert planner.get("/dev/mail").status_code == 403
    assert planner.get(f"/dev/mail/{own.name}").status_code == 403
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    assert admin.get("/dev/mail").status_code == 404
    assert admin.get(f"/dev/mail/{own.name}").status_code == 404
    assert "/dev/mail" not in admin.get("/home").get_data(as_text=True)
