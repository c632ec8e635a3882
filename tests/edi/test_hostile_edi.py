"""EDI cases of the bad-input corpus (docs: reliability.md, "Bad input gets a clear error and changes nothing";
the file corpus is tests/imports/test_corpus.py): truncated interchanges, wrong separators, BOM and CR/LF,
unknown qualifiers, bad dates, wrong counts, duplicates, and 10 MB interchanges."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from cogrow.edi.models import Interchange
from cogrow.forecasts.models import ForecastPublication
from cogrow.imports.models import ImportBatch
from tests.edi.conftest import week
from tests.edi.support import PRIME_ID, SUPPLIER_ID

pytestmark = pytest.mark.usefixtures("partner", "items")


@pytest.fixture(autouse=True)
def worker_reads(app, monkeypatch):
    """A large interchange is read by the worker: here the task runs at once, in this process."""
    from cogrow.imports import services, tasks

    services._PARSED.clear()
    monkeypatch.setattr(tasks.parse_import, "apply_async", lambda args, **_o: tasks.parse_import.apply(args=args))
    yield
    services._PARSED.clear()


def _isa(control: str = "000000042") -> str:
    return (f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{PRIME_ID:<15}*01*{SUPPLIER_ID:<15}*261118*0930*U*00401*"
            f"{control}*0*P*>~")


def _830(items, control: str = "000000042", ending: str = "\n", weeks: int = 26, copies: int = 1) -> str:
    body = ["BFR*00*FC-1**DL*A*" + week(0).strftime("%Y%m%d") + "*" + week(weeks).strftime("%Y%m%d") + "*"
            + week(0).strftime("%Y%m%d")]
    for item in items:
        body.append(f"LIN**BP*{item.prime_part_number}")
        body.append("UIT*PC")
        body.extend(f"FST*{10 + n}*{'C' if n < 4 else 'D'}*W*{week(n).strftime('%Y%m%d')}" for n in range(weeks))
    body.append(f"CTT*{len(items)}")
    sets = []
    for number in range(1, copies + 1):
        sets += [f"ST*830*{number:04d}", *body, f"SE*{len(body) + 2}*{number:04d}"]
    lines = [_isa(control)[:-1], f"GS*PS*PRIMEAPP*SUPPLIERA*20261118*0930*{int(control)}*X*004010", *sets,
             f"GE*{copies}*{int(control)}", f"IEA*1*{control}"]
    return "".join(line + "~" + ending for line in lines)


def _post(app, tenant, body: bytes, content_type: str = "application/edi-x12", who: str = "prime:planner", **query):
    from urllib.parse import urlencode

    url = f"/api/v1/relationships/{tenant.relationship.id}/edi/interchanges"
    if query:
        url += "?" + urlencode(query)
    return app.test_client().post(url, data=body, headers={"Authorization": f"Bearer {tenant.tokens[who]}",
                                                           "Content-Type": content_type})


def _nothing_changed(db):
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 0
    assert db.session.scalar(select(func.count()).select_from(Interchange)) == 0


@pytest.mark.parametrize("variant", ["lf", "crlf", "bom+crlf", "one line", "latin-1 bytes"])
def test_bom_and_line_ending_variants_are_read_alike(app, db, tenant_a, items, variant):
    text = _830(items, ending={"lf": "\n", "crlf": "\r\n", "bom+crlf": "\r\n", "one line": ""}.get(variant, "\n"))
    data = ("\ufeff" + text).encode() if variant == "bom+crlf" else \
        text.encode("latin-1") if variant == "latin-1 bytes" else text.encode()
    response = _post(app, tenant_a, data, confirm="true")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["import_batch"]["status"] == "applied"
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 1


def _cut(text: str, marker: str) -> str:
    return text[:text.index(marker)]


@pytest.mark.parametrize("mutate, where", [
    (lambda t: _cut(t, "SE*"), "row"),                                        # truncated inside the set
    (lambda t: _cut(t, "IEA*"), "IEA"),                                       # truncated before the IEA
    (lambda t: t.replace("SE*", "SE*9", 1), "SE01"),                          # wrong segment count
    (lambda t: t.replace("GE*1*", "GE*3*"), "GE01"),                          # wrong set count
    (lambda t: t.replace("*C*W*", "*C*W*2026", 1), "FST04"),                  # a bad date
    (lambda t: t.replace("*C*W*", "*K*W*", 1), "FST02"),                      # an unknown code
    (lambda t: t.replace("LIN**BP*", "LIN**BP*NOPE-", 1), "LIN03"),           # a part number of no item
])
def test_a_bad_interchange_is_a_422_naming_the_segment_and_changes_nothing(app, db, tenant_a, items, mutate, where):
    response = _post(app, tenant_a, mutate(_830(items)).encode(), confirm="true")
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert any(where in key or where in message for key, message in error["fields"].items()), error["fields"]
    assert "AK5*R" in error["functional_ack"] and "AK9*R" in error["functional_ack"]
    _nothing_changed(db)


@pytest.mark.parametrize("text, status", [
    (lambda items: _830(items).replace("*", "|").replace("ISA|", "ISA*", 1), 422),  # separators the ISA denies
    (lambda items: _830(items)[:80], 422),                                           # cut inside the ISA
    (lambda items: _830(items).replace("*ZZ*", "*Q9*", 1), 422),                     # unknown qualifier
    (lambda items: "UNB+UNOA:2+X+Y+261118:0930+1'", 422),                             # another syntax
    (lambda items: "", 422),
])
def test_an_unreadable_envelope_is_a_4xx_before_the_pipeline(app, db, tenant_a, items, text, status):
    response = _post(app, tenant_a, text(items).encode())
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]  # e.g. "ISA #1 ISA05: 'Q9' is not an interchange ID qualifier."
    _nothing_changed(db)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_the_same_control_number_twice_is_a_409(app, db, tenant_a, items):
    assert _post(app, tenant_a, _830(items).encode(), confirm="true").status_code == 201
    changed = _830(items).replace("FST*10*", "FST*11*", 1)  # another interchange reusing the number
    response = _post(app, tenant_a, changed.encode())
    assert response.status_code == 409
    assert response.get_json()["error"]["interchange_id"]


def test_two_previews_of_one_interchange_cannot_both_be_applied(app, db, tenant_a, items):
    """Once the first is applied, the second's control number is a received one: its confirm checks the
    interchange again and refuses it, naming the control number."""
    first = _post(app, tenant_a, _830(items).encode()).get_json()["import_batch"]["id"]
    second = _post(app, tenant_a, _830(items).encode()).get_json()["import_batch"]["id"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"}
    base = f"/api/v1/relationships/{tenant_a.relationship.id}/imports"
    assert client.post(f"{base}/{first}/confirm", headers=headers).status_code == 200
    response = client.post(f"{base}/{second}/confirm", headers=headers)
    assert response.status_code == 422
    assert "already received" in str(response.get_json()["error"]["fields"])
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 1


def test_a_message_from_the_wrong_side_is_refused(app, db, tenant_a, items):
    response = _post(app, tenant_a, _830(items).encode(), who="supplier:production")
    assert response.status_code == 403  # the supplier does not publish forecasts


def test_a_10_mb_interchange_is_refused_by_size_at_once(app, db, tenant_a, items):
    text = _830(items)
    notes = "".join(f"NTE*GEN*{n:08d}{'x' * 60}~\n" for n in range(10 * 1024 * 1024 // 78 + 100))
    data = text.replace("CTT*", notes + "CTT*", 1).encode()
    assert len(data) >= 10 * 1024 * 1024
    started = time.perf_counter()
    response = _post(app, tenant_a, data)
    assert response.status_code == 413 and time.perf_counter() - started < 2
    _nothing_changed(db)


def test_a_large_interchange_is_read_by_the_worker_not_the_request(app, db, tenant_a, items, monkeypatch):
    from cogrow.imports import tasks

    monkeypatch.setitem(app.config, "IMPORT_INLINE_PARSE_BYTES", 1_000)
    queued: list = []
    monkeypatch.setattr(tasks.parse_import, "apply_async", lambda args, **_o: queued.append(args))
    text = _830(items)
    assert len(text) > 1_000
    response = _post(app, tenant_a, text.encode())
    assert response.status_code == 202 and response.get_json()["import_batch"]["status"] == "pending"
    tasks.parse_import.apply(args=queued[0])  # the worker reads it
    batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    db.session.refresh(batch)
    assert batch.status == "preview" and batch.summary["summary"]["buckets"] == 26 * len(items)
