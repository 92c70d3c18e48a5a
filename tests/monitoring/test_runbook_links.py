"""Every alert's runbook_url opens a page: the documentation site is built (mkdocs build --strict,
as `make docs` does) and each URL of both rule files, taken relative to mkdocs.yml's site_url,
must be a page MkDocs wrote, whose heading carries the alert's anchor (and any #fragment an URL
has must be an id on that page)."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from devtools import alert_rules


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def ids_in(page: Path) -> set[str]:
    parser = _Ids()
    parser.feed(page.read_text())
    return parser.ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly: a broken link or anchor fails the build (and this test)."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(alert_rules.MKDOCS_FILE),
            "--site-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


def runbook_urls() -> list[tuple[str, str]]:
    """(alert, runbook_url) of every rule of both generated files."""
    plain = yaml.safe_load(alert_rules.RULES_FILE.read_text())["groups"]
    custom = yaml.safe_load(alert_rules.PROMETHEUS_RULE_FILE.read_text())["spec"]["groups"]
    return [
        (rule["alert"], rule["annotations"]["runbook_url"])
        for groups in (plain, custom)
        for group in groups
        for rule in group["rules"]
    ]


def test_every_runbook_url_opens_a_built_page(site: Path) -> None:
    base = alert_rules.site_url()
    urls = runbook_urls()
    assert len(urls) == 2 * len(alert_rules.ALERTS)
    for alert, url in urls:
        assert url.startswith(base), f"{alert}: {url} is not under the site_url {base}"
        parts = urlsplit(url[len(base) :])
        assert parts.path.endswith("/"), f"{alert}: {url} is not a directory URL"
        page = site / parts.path / "index.html"
        assert page.is_file(), f"{alert}: {url} opens no page ({page} was not built)"
        ids = ids_in(page)
        assert alert.lower() in ids, f"{alert}: its page has no heading #{alert.lower()}"
        if parts.fragment:
            assert parts.fragment in ids, f"{alert}: {url}'s #{parts.fragment} is not on the page"


def test_every_runbook_page_is_an_alerts(site: Path) -> None:
    built = {path.name for path in (site / "runbooks").iterdir() if path.is_dir()}
    assert built == {alert.anchor for alert in alert_rules.ALERTS}
