"""Browser fixtures (Playwright driving Debian's Chromium). Filled in by the browser tests."""
