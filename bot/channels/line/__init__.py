"""The LINE channel (line-bot-sdk): webhook in, replies and pushes out, the rich menu."""
