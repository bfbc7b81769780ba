"""The domain layer: what the people's inputs mean for people, reports, cases, broadcasts and
reminders, and who may see or do what (`domain.policy`). It takes plain inputs, works inside the
caller's transaction (writing audit and outbox rows), and returns neutral results. The chat, the
command line and the desk call it alike. It never imports the edge (`bot/`) nor a platform SDK."""
