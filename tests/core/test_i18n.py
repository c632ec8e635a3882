"""Pages in Korean and English: Accept-Language, the switch, the user's stored choice."""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from tests import factories as f
from tests.conftest import sign_in

CATALOG = Path(__file__).resolve().parents[2] / "platform" / "cogrow" / "translations" / "ko" / "LC_MESSAGES" / "messages.po"


def test_login_page_follows_accept_language(client):
    korean = client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}).get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="ko"' in korean and "로그인" in korean
    assert 'lang="en"' in english and "Sign in to Cogrow" in english


def test_switch_overrides_the_browser_and_is_remembered_for_the_user(client, db):
    org = f.OrganisationFactory(kind="supplier")
    user = f.UserFactory(locale=None)
    f.MembershipFactory(user=user, organisation=org, role="production")
    sign_in(client, user)
    assert "생산" in client.get("/home", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    response = client.post("/lang", data={"lang": "en", "next": "/home"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    assert "Production desk" in client.get("/home", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    db.session.refresh(user)
    assert user.locale == "en"


def test_language_switch_refuses_offsite_redirects(client):
    response = client.post("/lang", data={"lang": "ko", "next": "https://evil.example.com/"})
    assert response.headers["Location"] == "/"


def test_korean_catalog_translates_every_message():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []
    assert len(catalog) > 150


def test_every_message_in_the_code_and_templates_has_a_korean_translation():
    """What `pybabel extract` finds (templates/_macros included: Babel skips folders named `_*` unless told not to)
    is in the Korean catalog, so no page shows an English phrase among Korean ones."""
    from babel.messages.extract import extract_from_dir

    root = CATALOG.parents[5]
    method_map = [("platform/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string and not m.fuzzy}
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root), method_map, keywords=keywords, directory_filter=lambda path: not path.split("/")[-1].startswith(".")):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, f"{filename}:{lineno}")
    missing = sorted(f"{where}: {msgid}" for msgid, where in found.items() if msgid not in translated)
    assert missing == []
    assert any(where.startswith("templates/_macros/") for where in found.values())
