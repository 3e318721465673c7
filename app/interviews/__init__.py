"""The interview engine: ORM models, API schemas, the service that runs a turn, and its router."""
