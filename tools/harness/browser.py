"""Headless Chromium (the Debian package) through Playwright, for tests that look at the Slack page."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tools.harness.procs import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots and images a person may want to look at
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No network but loopback here, and no downloads: keep Chromium from trying.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@asynccontextmanager
async def chromium_page(profile: Path, *, height: int = 900) -> AsyncIterator[Page]:
    """A page of a fresh Chromium profile in `profile`, 1100 pixels wide; the browser closes after."""
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1100, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()
