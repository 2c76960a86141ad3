"""Scratch PostgreSQL databases for the benchmarks (never one that holds real data)."""

from __future__ import annotations

import psycopg


def _create(connection: psycopg.Connection, name: str) -> None:
    # UTF8 whatever the cluster's default, so that lengths count characters.
    connection.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")


def recreate_database(server: str, name: str) -> None:
    """An empty database ``name`` on ``server`` (postgres://user@host:port)."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _create(connection, name)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ensure_database(url: str) -> None:
    """Create the database ``url`` names unless it exists (kept between runs)."""
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not found.fetchone():
            _create(connection, name)
