"""Exports of a release to other engines. Pure: they return files as data; the CLI writes them."""
