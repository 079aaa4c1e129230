"""Alembic environment: run with the connection the app hands over (db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from openbsi.web.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # plain `alembic` use: build an engine from the URL
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
