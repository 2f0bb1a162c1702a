"""The browser the extranet tests rely on: Debian's Chromium starts, renders a page, runs no network."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser


def test_chromium_renders_a_local_page(chromium: Browser, tmp_path: Path) -> None:
    page_file = tmp_path / "page.html"
    page_file.write_text("<!doctype html><title>essai</title><h1>Bonjour</h1>", encoding="utf-8")
    page = chromium.new_page()
    try:
        page.goto(page_file.as_uri())
        assert page.title() == "essai"
        assert page.inner_text("h1") == "Bonjour"
    finally:
        page.close()
