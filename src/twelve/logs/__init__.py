"""Log lines, the per-app journal, the hub that fans lines out, and drains."""
