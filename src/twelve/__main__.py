"""``python -m twelve`` runs the CLI."""

from twelve.cli.main import main

main()
