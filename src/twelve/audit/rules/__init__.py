"""Rules, one module per factor. Each module exposes ``CHECKS``: functions that take a Scan."""
