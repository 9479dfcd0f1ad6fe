"""`releasemgr-client` pointed at something that is not releasemgr (a proxy's login page, a
portal, another site) says so in one line and exits 2, without a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

from tests.gitservers import _serving as serving
from tests.workers import ROOT


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "client"))
    from releasemgr_client import cli as module

    yield module
    for name in [m for m in sys.modules if m.startswith("releasemgr_client")]:
        del sys.modules[name]


@pytest.fixture
def not_the_api() -> Iterator[str]:
    """A real HTTP server on loopback that answers every request with a 200 HTML page."""

    def page(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b"<html><body>Please sign in to the corporate proxy</body></html>"]

    with serving(page) as url:
        yield url.rstrip("/")


@pytest.mark.parametrize("args", [["status"], ["promote", "RM-1", "--to", "Integration"]])
def test_a_page_that_is_not_json_is_refused_in_one_line(
    cli, not_the_api, monkeypatch, capsys, args
):
    monkeypatch.setenv("RELEASEMGR_TOKEN", "rmp_000000000000_" + "z" * 43)
    assert cli.main(["--url", not_the_api, *args]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"{not_the_api}/api/v1 answered 200 with text/html; charset=utf-8, not JSON: "
        "is RELEASEMGR_URL releasemgr's address?"
    )
