"""Screenshots of a real dossier page for the README: the samples imported, published and served.

    .venv/bin/python tools/screenshot_extranet.py [--out docs/img]

Runs the chain a syndic runs (``import``, ``publish``, ``access grant``, ``serve``) in a temporary
folder, opens the link in Debian's Chromium (``/usr/bin/chromium``) as the co-owners' audience, and
saves the DDE-2026-014 dossier page at 1280 px (``dossier.png``) and 390 px (``dossier-mobile.png``).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
BUILDING = "les-mimosas"
DOSSIER = "DDE-2026-014"
SHOTS = {"dossier.png": (1280, 1000), "dossier-mobile.png": (390, 844)}


def cli(*args: str, cwd: Path) -> str:
    """Run one dossiermail command; its stdout."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOSSIERMAIL_")}
    result = subprocess.run(  # noqa: S603 - our own CLI, arguments built here
        [sys.executable, "-m", "dossiermail", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"dossiermail {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the server did not answer {url}")


def shoot(link: str, base: str, out: Path) -> None:
    """Open the link, go to the dossier page, save one screenshot per width."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for name, (width, height) in SHOTS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(link)
                page.goto(f"{base}/{BUILDING}/dossiers/{DOSSIER}.html")
                page.screenshot(path=str(out / name))
                context.close()
                sys.stdout.write(f"{out / name}\n")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    out = parser.parse_args().out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        db = ("--db", f"sqlite:///{work}/dossiermail.db")
        rules = ("--rules", str(ROOT / "rules"))
        cli("import", str(ROOT / "samples"), *rules, "--quiet", *db, cwd=work)
        cli("publish", "--out", "site", *rules, *db, cwd=work)
        base = f"http://127.0.0.1:{free_port()}"
        grant = ("access", "grant", BUILDING, "--audience", "coproprietaires", "--base-url", base)
        link = cli(*grant, *db, cwd=work).strip()
        port = base.rsplit(":", 1)[1]
        server = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
            [sys.executable, "-m", "dossiermail", "serve", "--port", port, "--site", "site", *db],
            cwd=work,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"{base}/sante")
            shoot(link, base, out)
        finally:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
