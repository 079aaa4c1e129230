"""The database: engine, sessions and migrations (Alembic, shipped inside the package)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
DB_NAME = "clinic.sqlite"
# Worker threads that may hold a connection at once: AnyIO's default pool (40), which runs the
# sync routes and the auth look-ups, and the control lane's own threads (security.in_lane).
READ_THREADS = 40
CONTROL_THREADS = 4
POOL_TIMEOUT_S = 10.0  # a request that cannot get a connection fails in 10 s, not 30


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / DB_NAME}"


def make_engine(url: str, threads: int = READ_THREADS) -> Engine:
    """An engine whose pool holds a connection for each of `threads` worker threads (plus a
    margin for sessions closing on their way out), so a thread running a query never waits for
    a connection held by a request that itself waits for a thread. SQLite gets foreign keys on,
    WAL and a busy timeout (several threads write); PostgreSQL pings stale connections."""
    pool = {"pool_size": threads, "max_overflow": threads // 4 + 2, "pool_timeout": POOL_TIMEOUT_S}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    # PostgreSQL: idle connections are few and cheap to keep; the server allows 100 by default
    return create_engine(url, pool_pre_ping=True, **pool)


def _alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (idempotent)."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), revision)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
