"""Data of fieldbot: SQLModel tables, repositories, migrations, media store."""
