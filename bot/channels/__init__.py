"""The channels: one module group per platform (LINE, Telegram, the console), the protocol they
share (`bot.channels.base`) and the registry the rest of the edge asks (`bot.channels.registry`).
Only modules in this package import a platform SDK or name a platform."""
