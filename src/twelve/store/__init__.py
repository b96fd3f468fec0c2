"""The platform's state on a real SQLite file: desired state, history and process records."""

from twelve.store.db import Store
from twelve.store.models import App, Build, ProcessRecord, Release

__all__ = ["App", "Build", "ProcessRecord", "Release", "Store"]
