"""The agency managers' console: HTML pages behind a signed session cookie."""
