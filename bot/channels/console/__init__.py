"""The console channel: `fieldbot chat` in a terminal or through a pipe."""
