"""``python -m runner`` runs the CLI."""

from .cli import entry

entry()
