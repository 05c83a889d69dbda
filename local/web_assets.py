"""`python -m local.web_assets`: build the site the local stack serves and CloudFront deploys.

- Pages: the Jinja2 templates of `web/` (product) and `local/pages/` (demonstration portal) share
  one frame, `web/_templates/base.html`, and are rendered into `build/site/` and
  `build/local-pages/`; the files beside them (scripts, styles) are copied as they are.
- DSFR: the npm package weighs 136 MB; only what the pages use goes into
  `build/site/vendor/dsfr/` — for each set of components a page asks for, one stylesheet of DSFR
  core and those components (`bundle_name`), the icons and fonts they reference, the favicon.
- What the legal pages say about a deployment comes from `web/site.toml`, or the file named by
  `REASSORT_SITE_CONFIG`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

ROOT = Path(__file__).resolve().parent.parent
WEB_SOURCE = ROOT / "web"
LOCAL_SOURCE = ROOT / "local" / "pages"
TEMPLATES = WEB_SOURCE / "_templates"
SITE = ROOT / "build" / "site"
LOCAL_SITE = ROOT / "build" / "local-pages"
SOURCE = ROOT / "node_modules" / "@gouvfr" / "dsfr" / "dist"
TARGET = SITE / "vendor" / "dsfr"
SITE_CONFIG = WEB_SOURCE / "site.toml"
# The DSFR components the pages use, in the order of the full DSFR stylesheet. Each page loads one
# stylesheet: DSFR core, the components of the frame (COMMON) and those the page names in
# `{% set components = [...] %}` (a test checks no class a page or its scripts use is left out).
COMPONENTS = (
    "logo",
    "button",
    "connect",
    "form",
    "link",
    "callout",
    "alert",
    "notice",
    "radio",
    "input",
    "skiplink",
    "footer",
    "table",
    "header",
)
COMMON = ("logo", "button", "link", "alert", "skiplink", "footer", "header")


def bundle_name(extra: Iterable[str] = ()) -> str:
    """The stylesheet of the frame's components plus `extra` (names checked against COMPONENTS)."""
    unknown = set(extra) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown DSFR components: {sorted(unknown)}")
    chosen = [n for n in COMPONENTS if n in extra and n not in COMMON]
    return "dsfr-" + "-".join(["base", *chosen]) + ".min.css"


def components_of(name: str) -> tuple[str, ...]:
    """The components in a stylesheet named by bundle_name."""
    extra = name.removeprefix("dsfr-base").removesuffix(".min.css").split("-")
    return tuple(n for n in COMPONENTS if n in COMMON or n in extra)


FILES = (
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


def bundle_parts(source: Path = SOURCE, components: Iterable[str] = COMPONENTS) -> list[Path]:
    return [
        source / "core" / "core.min.css",
        *(source / "component" / n / f"{n}.min.css" for n in components),
    ]


def bundle_stylesheet(source: Path = SOURCE, components: Iterable[str] = COMPONENTS) -> tuple[str, set[Path]]:
    """DSFR core and the components the pages use as one stylesheet placed at the root of `dist/`,
    its url(...) rewritten to that place, and the files they point to."""
    found: set[Path] = set()
    parts = []
    for css in bundle_parts(source, components):

        def rebase(match: re.Match[str], css: Path = css) -> str:
            ref = match.group(1)
            if ref.startswith(("data:", "http:", "https:", "#")):
                return match.group(0)
            cut = min((i for i in (ref.find("?"), ref.find("#")) if i >= 0), default=len(ref))
            target = (css.parent / ref[:cut]).resolve()
            if not target.is_file() or not target.is_relative_to(source.resolve()):
                return match.group(0)
            found.add(target)
            return f"url({target.relative_to(source.resolve()).as_posix()}{ref[cut:]})"

        text = css.read_text(encoding="utf-8").replace('@charset "UTF-8";', "")
        parts.append(_URL.sub(rebase, text))
    return '@charset "UTF-8";' + "\n".join(parts), found


def copy_assets(source: Path = SOURCE, target: Path = TARGET) -> int:
    if not (source / "dsfr.min.css").is_file():
        raise SystemExit(f"{source} is missing: run `npm ci --ignore-scripts` (or `make node`) first")
    bundles = {name: bundle_stylesheet(source, components_of(name)) for name in stylesheets_in_use()}
    wanted = set().union(*(files for _, files in bundles.values()))
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
    for name, (text, _) in bundles.items():
        (target / name).write_text(text, encoding="utf-8")
    return len(wanted) + len(bundles)


def stylesheets_in_use() -> set[str]:
    """The DSFR stylesheets the rendered pages link to."""
    names = {bundle_name()}
    pattern = re.compile(r'href="/vendor/dsfr/(dsfr-[a-z-]+\.min\.css)"')
    for page in [*SITE.rglob("*.html"), *LOCAL_SITE.rglob("*.html")]:
        names |= set(pattern.findall(page.read_text(encoding="utf-8")))
    return names


def site_settings(path: Path | None = None) -> dict[str, Any]:
    """The deployment's wording of the legal pages (`REASSORT_SITE_CONFIG` overrides the default)."""
    chosen = path or Path(os.environ.get("REASSORT_SITE_CONFIG") or SITE_CONFIG)
    with chosen.open("rb") as handle:
        return tomllib.load(handle)


def render_tree(source: Path, target: Path, settings: dict[str, Any]) -> list[Path]:
    """Render every page template of `source` into `target` and copy the other files beside them.

    `_`-prefixed folders hold the shared templates and are not published.
    """
    env = Environment(
        loader=FileSystemLoader([str(source), str(TEMPLATES)]),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    globals_: dict[str, Any] = {"site": settings, "dsfr_stylesheet": bundle_name}
    rendered = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or any(part.startswith("_") for part in relative.parts):
            continue
        if relative.parts[0] == "vendor" or path.suffix == ".toml":
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".html":
            page = env.get_template(relative.as_posix()).render(**globals_)
            destination.write_text(page, encoding="utf-8")
            rendered.append(destination)
        else:
            shutil.copy2(path, destination)
    return rendered


def render_pages(settings: dict[str, Any] | None = None) -> list[Path]:
    """Render the product pages into build/site and the demonstration pages into build/local-pages."""
    settings = settings or site_settings()
    for target in (SITE, LOCAL_SITE):
        for path in target.rglob("*") if target.exists() else ():
            if path.is_file() and not path.is_relative_to(TARGET):
                path.unlink()
    return render_tree(WEB_SOURCE, SITE, settings) + render_tree(LOCAL_SOURCE, LOCAL_SITE, settings)


def main() -> int:
    pages = render_pages()
    count = copy_assets()
    size = sum(p.stat().st_size for p in TARGET.rglob("*") if p.is_file())
    print(f"build/site: {len(pages)} pages rendues, {count} fichiers DSFR copiés ({size / 1_000_000:.1f} Mo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
