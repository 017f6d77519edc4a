"""``--tipc-report PATH.html``: a self-contained page with the matrix, the failures and the
training curves, checked in a real headless Chromium when one is installed."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.reporting import html as page
from tests.support.tiny_repo import config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

TWO = {44: "--batch-size:1|2"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless browser: install Debian's chromium (apt-get install -y chromium)")


def write_page(repo: pytest.Pytester, *extra: str) -> Path:
    result = run(repo, config(repo, TWO), "--tipc-report", "reports/tipc.html", "--tipc-progress", "0", *extra)
    result.assert_outcomes(passed=3)
    return repo.path / "reports" / "tipc.html"


def test_page_is_self_contained_with_curves(repo: pytest.Pytester) -> None:
    pytest.importorskip("matplotlib")
    html = write_page(repo)
    text = html.read_text()
    assert (html.with_suffix(".md")).is_file() and json.loads(html.with_suffix(".json").read_text())["version"] == 2
    assert "<svg" in text and "Training curves" in text  # a loss/ips curve, inline
    assert not re.search(r"""(?:src|href)=["']https?://""", text)  # nothing fetched from elsewhere
    targets = [t for t in re.findall(r'href="([^"#][^"]*)"', text)]  # not the SVG's own #refs
    assert targets and all((html.parent / t).is_file() for t in targets)


def test_without_matplotlib_the_page_says_so(repo: pytest.Pytester) -> None:
    repo.makeconftest("import sys\nsys.modules['matplotlib'] = None  # as if not installed\n")
    text = write_page(repo).read_text()
    assert page.NO_MATPLOTLIB.replace("'", "&#x27;") in text and "<svg" not in text


def test_page_in_headless_chromium(repo: pytest.Pytester, tmp_path: Path) -> None:
    browser = chromium()
    html = write_page(repo)
    profile = tmp_path / "profile"
    common = [browser, *FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*common, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>TIPC support matrix</h1>" in dom.stdout and "device_CPU" in dom.stdout
    assert re.search(r'class="supported"[^>]*>supported<', dom.stdout)
    shot = tmp_path / "page.png"
    done = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,900", html.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
    if "PIL" in sys.modules or _has_pillow():
        from PIL import Image

        with Image.open(shot) as image:
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 20  # text, table borders, the green of "supported", the curves


def _has_pillow() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def _shot(browser: str, tmp_path: Path, name: str, text: str) -> bytes:
    """A screenshot of ``text`` in a header cell styled as the report's."""
    html = tmp_path / f"{name}.html"
    html.write_text(f"<!doctype html><html><head><meta charset='utf-8'><style>{page.STYLE}"
                    "th { font-size: 40px; }</style></head><body><table><tr>"
                    f"<th>{text}</th></tr></table></body></html>", encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    done = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                           "--window-size=600,400", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return shot.read_bytes()


def test_chinese_headers_render_with_a_cjk_font(tmp_path: Path) -> None:
    """The style names the common CJK fonts; with one installed (Debian's fonts-noto-cjk) the headers
    show their glyphs: two different headers draw differently, where missing glyphs draw the same box."""
    for font in ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei"):
        assert f'"{font}"' in page.STYLE
    browser = chromium()
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True) \
        if shutil.which("fc-list") else None
    if listed is None or not listed.stdout.strip():
        pytest.skip("no CJK font installed: apt-get install -y fonts-noto-cjk")
    blank = _shot(browser, tmp_path, "blank", "")
    missing = [_shot(browser, tmp_path, f"missing{i}", text) for i, text in enumerate(("\U000ffffd", "\U000ffffc"))]
    assert missing[0] == missing[1]  # the premise: glyphs no font has are drawn as the same box
    headers = [_shot(browser, tmp_path, f"header{i}", text) for i, text in enumerate(("模型名称", "训练相关"))]
    assert headers[0] != blank and headers[0] != headers[1]  # drawn, and each with its own glyphs
