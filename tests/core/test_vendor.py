"""The front-end files under static/vendor/ are exactly the pinned ones the manifest lists."""
from __future__ import annotations

import hashlib

from cogrow import vendor


def test_every_vendored_file_matches_its_pinned_sha256():
    assert vendor.problems() == []


def test_manifest_names_a_version_and_licence_for_every_package():
    for package in vendor.load_manifest()["packages"]:
        assert package["version"].count(".") == 2, package["name"]
        assert package["license"], package["name"]
        assert any("LICENSE" in f["dest"] for f in package["files"]), f"{package['name']} ships without its licence"


def test_a_changed_byte_is_caught(tmp_path, monkeypatch):
    copy = tmp_path / "vendor"
    copy.mkdir()
    for path in vendor.VENDOR_DIR.rglob("*"):
        if path.is_file():
            target = copy / path.relative_to(vendor.VENDOR_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    monkeypatch.setattr(vendor, "VENDOR_DIR", copy)
    monkeypatch.setattr(vendor, "MANIFEST", copy / "manifest.json")
    assert vendor.problems() == []
    htmx = copy / "htmx" / "htmx.min.js"
    htmx.write_bytes(htmx.read_bytes() + b";")
    (copy / "stray.js").write_text("x")
    found = vendor.problems()
    assert any("htmx/htmx.min.js" in line for line in found)
    assert any("stray.js" in line for line in found)
    assert hashlib.sha256(htmx.read_bytes()).hexdigest() not in str(vendor.load_manifest())
