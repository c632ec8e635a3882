"""The front-end files Cogrow serves from static/vendor/, pinned by name, version and checksum.

`python -m cogrow.vendor refresh` (what `make vendor` runs) downloads each package's tarball from the npm
registry, checks it against the registry's own integrity hash, copies the listed files and their licence into
static/vendor/ and rewrites the manifest's sha256 sums. `python -m cogrow.vendor check` (and the test suite)
verifies the files on disk against the manifest. No node is needed for either, and nothing is fetched at run time.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
MANIFEST = VENDOR_DIR / "manifest.json"
REGISTRY = "https://registry.npmjs.org"


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problems() -> list[str]:
    """Every way the files on disk differ from the manifest; empty when they agree."""
    found = []
    manifest = load_manifest()
    listed = set()
    for package in manifest["packages"]:
        for entry in package["files"]:
            target = VENDOR_DIR / entry["dest"]
            listed.add(entry["dest"])
            if not target.is_file():
                found.append(f"{package['name']}: {entry['dest']} is missing")
            elif sha256_of(target) != entry["sha256"]:
                found.append(f"{package['name']}: {entry['dest']} does not match its sha256")
    for path in VENDOR_DIR.rglob("*"):
        rel = path.relative_to(VENDOR_DIR).as_posix()
        if path.is_file() and rel != MANIFEST.name and rel not in listed:
            found.append(f"{rel} is in static/vendor/ but not in the manifest")
    return found


def _tarball(name: str, version: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(f"{REGISTRY}/{name}/{version}", timeout=60) as response:
        meta = json.load(response)
    dist = meta["dist"]
    with urllib.request.urlopen(dist["tarball"], timeout=120) as response:
        data = response.read()
    algorithm, _, expected = dist["integrity"].partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{name}@{version}: the tarball does not match the registry's {algorithm} integrity")
    return data, meta.get("license", "")


def refresh() -> None:
    manifest = load_manifest()
    for package in manifest["packages"]:
        data, licence = _tarball(package["name"], package["version"])
        if licence and licence != package["license"]:
            raise SystemExit(f"{package['name']}: the registry says licence {licence}, the manifest {package['license']}")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for entry in package["files"]:
                member = archive.extractfile(f"package/{entry['source']}")
                if member is None:
                    raise SystemExit(f"{package['name']}: {entry['source']} is not in the tarball")
                target = VENDOR_DIR / entry["dest"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
                entry["sha256"] = sha256_of(target)
        print(f"{package['name']}@{package['version']} ({package['license']})")
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "refresh":
        refresh()
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
