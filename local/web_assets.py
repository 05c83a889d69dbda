"""`python -m local.web_assets`: copy the DSFR files the pages use into `web/vendor/dsfr/`.

The npm package weighs 136 MB; the pages need its main stylesheet, its module script, the icons
and fonts that stylesheet references, and the favicon.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "node_modules" / "@gouvfr" / "dsfr" / "dist"
TARGET = ROOT / "web" / "vendor" / "dsfr"
FILES = (
    "dsfr.min.css",
    "dsfr.module.min.js",
    "favicon/favicon.svg",
    "favicon/favicon.ico",
    "favicon/apple-touch-icon.png",
)
_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


def referenced(css_file: Path) -> set[Path]:
    """Files a stylesheet points to with relative url(...), data: URIs left out."""
    found = set()
    for ref in _URL.findall(css_file.read_text(encoding="utf-8")):
        if ref.startswith(("data:", "http:", "https:", "#")):
            continue
        target = (css_file.parent / ref.split("?", 1)[0].split("#", 1)[0]).resolve()
        if target.is_file() and target.is_relative_to(SOURCE.resolve()):
            found.add(target)
    return found


def copy_assets(source: Path = SOURCE, target: Path = TARGET) -> int:
    if not (source / "dsfr.min.css").is_file():
        raise SystemExit(f"{source} is missing: run `npm ci --ignore-scripts` (or `make node`) first")
    wanted: set[Path] = set()
    for name in FILES:
        path = (source / name).resolve()
        if path.is_file():
            wanted.add(path)
            if path.suffix == ".css":
                wanted |= referenced(path)
    if target.exists():
        shutil.rmtree(target)
    for path in sorted(wanted):
        destination = target / path.relative_to(source.resolve())
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return len(wanted)


def main() -> int:
    count = copy_assets()
    size = sum(p.stat().st_size for p in TARGET.rglob("*") if p.is_file())
    print(f"web/vendor/dsfr: {count} fichiers DSFR copiés ({size / 1_000_000:.1f} Mo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
