"""The documentation site builds strictly and offline, and holds what it should.

One ``mkdocs build --strict`` (warnings are errors: broken links, docstring
problems, pages that fail to render) into a temporary directory, with HTTP(S)
proxies pointing at a closed port so that any attempt to fetch something fails
the build; the tests then read the built HTML. Rebuild by hand with
``.venv/bin/python -m mkdocs build --strict --site-dir /tmp/proxygym-site``.
"""

from __future__ import annotations

import argparse
import html
import inspect
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

pytest.importorskip(
    "mkdocs", reason="mkdocs is not installed; pip install -e '.[dev]' installs the docs tools"
)

from mkdocs.commands.build import build  # noqa: E402
from mkdocs.config import load_config  # noqa: E402
from mkdocs.exceptions import Abort  # noqa: E402

import proxygym  # noqa: E402
import proxygym.agents  # noqa: E402
import proxygym.envs  # noqa: E402
from proxygym.cli import build_parser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Any HTTP client honouring the usual proxy variables gets "connection refused".
NO_NETWORK = {
    name: "http://127.0.0.1:9"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
}
#: The width docs/cli.md renders the help at.
HELP_COLUMNS = "88"


class WarningRecords(logging.Handler):
    """Keeps the messages of the warnings mkdocs and its plugins log, to show when strict fails."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once for this module, as ``mkdocs build --strict`` does, without network.

    In-process rather than a subprocess: the CLI page's build step imports
    proxygym.cli (and with it torch) once for the build and these tests together.
    """
    site_dir = tmp_path_factory.mktemp("site")
    warnings = WarningRecords()
    mkdocs_logger = logging.getLogger("mkdocs")
    mkdocs_logger.addHandler(warnings)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in NO_NETWORK.items():
                patch.setenv(name, value)
            patch.delenv("NO_PROXY", raising=False)
            patch.delenv("no_proxy", raising=False)
            config = load_config(str(ROOT / "mkdocs.yml"), strict=True, site_dir=str(site_dir))
            build(config)
    except Abort as error:
        pytest.fail(f"mkdocs build --strict failed: {error}\n" + "\n".join(warnings.messages))
    finally:
        mkdocs_logger.removeHandler(warnings)
    return site_dir


def nav_pages(nav: list[Any]) -> Iterator[str]:
    """Every page path of an mkdocs ``nav`` entry list, depth first."""
    for entry in nav:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            for value in entry.values():
                if isinstance(value, str):
                    yield value
                else:
                    yield from nav_pages(value)


def main_text(page: Path) -> str:
    """The visible text of a built page's main column, without markup."""
    main = page.read_text(encoding="utf-8").split('role="main"', 1)[1].split("<footer", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", "", main))


def heading_ids(site: Path) -> set[str]:
    """The ids of every heading of the API reference."""
    pattern = re.compile(r'<h[1-6][^>]*\sid="([^"]+)"')
    return {
        anchor
        for page in (site / "api").glob("*.html")
        for anchor in pattern.findall(page.read_text(encoding="utf-8"))
    }


def summary(obj: object) -> str:
    """The first line of an object's docstring, as it appears in the built text."""
    doc = inspect.getdoc(obj)
    assert doc, f"{obj!r} has no docstring"
    return re.sub(r":[a-z]+:|[`*]", "", doc.splitlines()[0])


def live_help() -> dict[str, str]:
    """``--help`` of ``proxygym`` and of each subcommand, at the width the CLI page uses."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with mock.patch.dict(os.environ, {"COLUMNS": HELP_COLUMNS}):
        helps = {"proxygym": parser.format_help().rstrip()}
        for name, subparser in commands.choices.items():
            helps[f"proxygym {name}"] = subparser.format_help().rstrip()
    return helps


def test_every_nav_page_was_built(site: Path) -> None:
    pages = list(nav_pages(load_config(str(ROOT / "mkdocs.yml"))["nav"]))
    assert "index.md" in pages and "cli.md" in pages and "api/core.md" in pages
    for page in pages:
        built = site / Path(page).with_suffix(".html")
        assert built.is_file(), f"nav page {page} was not built to {built}"
        assert main_text(built).strip(), f"{built} has no content"


def test_core_page_documents_proxy_env_and_its_hooks(site: Path) -> None:
    page = (site / "api" / "core.html").read_text(encoding="utf-8")
    text = main_text(site / "api" / "core.html")
    for anchor in ("proxygym.core.ProxyEnv", "proxygym.core.EnvCard", "proxygym.core.INFO_KEYS"):
        assert f'id="{anchor}"' in page, anchor
    assert summary(proxygym.core.ProxyEnv) in text
    assert "Subclasses set" in text and "the registered TimeLimit uses the same number" in text
    # The hooks a concrete environment implements, and a "#:" attribute comment.
    assert 'id="proxygym.core.ProxyEnv._advance"' in page
    assert 'id="proxygym.core.ProxyEnv._reset_state"' in page
    assert "Keys of the info dict that make up the contract." in text


def test_api_reference_covers_every_public_module(site: Path) -> None:
    ids = heading_ids(site)
    modules = [
        "proxygym",
        "proxygym.core",
        "proxygym.wrappers",
        "proxygym.registry",
        "proxygym.planning.tabular",
        "proxygym.sweeps.axes",
        "proxygym.sweeps.config",
        "proxygym.sweeps.runner",
        "proxygym.sweeps.results",
        "agents.evaluation",
        "proxygym.analysis",
        "proxygym.reporting.report",
        "proxygym.reporting.plots",
        "envs.learned_proxy",
        "proxygym.planning.quantilizer",
        "proxygym.planning.angle_stopping",
        "proxygym.analysis.detect",
        "proxygym.testing",
        "proxygym.teaching.animation",
        "proxygym.teaching.play",
    ]
    # Subpackages: every public submodule, so a new module must get a page entry.
    for package in ("planning", "sweeps", "analysis", "reporting", "teaching", "jax", "jax/envs"):
        modules += [
            f"proxygym.{package.replace('/', '.')}.{path.stem}"
            for path in sorted((ROOT / "proxygym" / package).glob("[!_]*.py"))
        ]
    missing = [module for module in modules if module not in ids]
    assert not missing, f"modules without an API section: {missing}"


@pytest.mark.parametrize(
    "package, directory",
    [(proxygym.envs, "envs"), (proxygym.agents, "agents")],
    ids=["envs", "agents"],
)
def test_mapped_packages_document_every_export(site: Path, package: Any, directory: str) -> None:
    # envs/ and agents/ are documented as top-level modules (griffe cannot follow
    # setuptools' package-dir mapping), so their anchors start with the directory name.
    ids = heading_ids(site)
    texts = "\n".join(main_text(page) for page in (site / "api").glob("*.html"))
    modules = {
        ".".join((directory, *path.relative_to(ROOT / directory).with_suffix("").parts))
        for path in (ROOT / directory).rglob("[!_]*.py")
        if not any(part.startswith("_") for part in path.relative_to(ROOT / directory).parts)
    }
    missing_modules = sorted(modules - ids)
    assert not missing_modules, f"modules without an API section: {missing_modules}"
    for name in package.__all__:
        obj = getattr(package, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        anchor = obj.__module__.replace(f"proxygym.{directory}.", f"{directory}.") + f".{name}"
        assert anchor in ids, f"{package.__name__}.{name} has no API section ({anchor})"
        assert summary(obj) in texts, f"docstring of {package.__name__}.{name} not rendered"
    # The headings show the names users import, not the directory names.
    for module in modules:
        assert f"proxygym.{module}" in texts, f"no heading proxygym.{module}"


def test_env_docstrings_with_the_rules_are_rendered(site: Path) -> None:
    text = main_text(site / "api" / "envs_gridworlds.html")
    for section in ("Description", "Action Space", "Observation Space", "Rewards", "Episode End"):
        assert text.count(section) >= 7, section
    assert "True objective (hidden)" in text


def test_top_level_page_lists_every_export(site: Path) -> None:
    text = main_text(site / "api" / "proxygym.html")
    assert summary(proxygym).rstrip(".") in text
    missing = [name for name in proxygym.__all__ if name not in text]
    assert not missing, f"proxygym.__all__ names missing from api/proxygym.md: {missing}"


def test_cli_page_shows_the_live_help_of_every_subcommand(site: Path) -> None:
    page = (site / "cli.html").read_text(encoding="utf-8")
    blocks = {
        html.unescape(re.sub(r"<[^>]+>", "", block)).rstrip()
        for block in re.findall(r"<pre>(.*?)</pre>", page, flags=re.DOTALL)
    }
    helps = live_help()
    assert set(helps) >= {
        "proxygym",
        "proxygym sweep",
        "proxygym plot",
        "proxygym report",
        "proxygym detect",
    }
    for title, text in helps.items():
        assert f"<code>{title}</code>" in page, f"no heading for {title}"
        assert text in blocks, f"the CLI page's help of {title!r} differs from the live --help"


def test_site_loads_nothing_from_the_network(site: Path) -> None:
    remote = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//")
    offenders = [
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if remote.search(page.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"pages fetching remote resources: {offenders}"


def test_sphinx_roles_are_rendered_as_code_not_printed(site: Path) -> None:
    """tools/griffe_roles.py turns ``:class:`X``` in docstrings into ``X`` code spans."""
    core = (site / "api" / "core.html").read_text(encoding="utf-8")
    assert "ProxyEnv" in core
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for role in (":class:", ":func:", ":meth:", ":mod:", ":data:", ":attr:"):
            assert role not in text, f"{page.relative_to(site)} prints the Sphinx role {role}"
