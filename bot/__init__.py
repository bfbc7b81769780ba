"""The edge of fieldbot: configuration, channel adapters, the server and the command line."""
