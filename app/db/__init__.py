"""Database access: engine and sessions, the ORM base, and Alembic migrations shipped in the package."""

from app.db.base import Base
from app.db.engine import create_db_engine, create_session_factory
from app.db.migrate import upgrade

__all__ = ["Base", "create_db_engine", "create_session_factory", "upgrade"]
