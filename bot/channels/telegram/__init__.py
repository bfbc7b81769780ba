"""The Telegram channel (python-telegram-bot over aiohttp)."""
