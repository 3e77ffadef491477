"""How long ``manage.py seed_demo`` takes on PostgreSQL, by size.

For each size: create a throw-away database, migrate it, time ``seed_demo --enterprises SIZE``
in a subprocess (wall clock, Django start-up included), drop the database. Prints one line
per size: ``size, seconds, rows/s``.

    .venv/bin/python bench/seed_demo.py --sizes 100000 1000000

Needs a PostgreSQL server where the user may create databases (default: postgres on
127.0.0.1:5432, trust auth; see --server). Not a test: it prints numbers to compare.
"""

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _database_url(server: str, name: str) -> str:
    return f"{server.rstrip('/')}/{name}"


def _admin(server: str, statement: sql.Composable) -> None:
    # CREATE / DROP DATABASE cannot run inside a transaction block.
    with psycopg.connect(_database_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def _manage(env: dict, command: str, *args: str, quiet: bool) -> None:
    subprocess.run(
        # System checks are not what is measured, and skipping them keeps the numbers
        # comparable while unrelated parts of the project are half-way through a change.
        [PYTHON, str(ROOT / "manage.py"), command, "--skip-checks", *args],
        cwd=ROOT,
        env=env,
        check=True,
        # The login table on stdout holds the generated password: keep it off the report.
        stdout=subprocess.DEVNULL if quiet else None,
    )


def run(size: int, *, server: str, keep: bool) -> float:
    name = f"bench_seed_{size}"
    database = sql.Identifier(name)
    _admin(server, sql.SQL("DROP DATABASE IF EXISTS {}").format(database))
    _admin(server, sql.SQL("CREATE DATABASE {}").format(database))
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(server, name),
        # Production settings (no debug cursor wrappers); a throw-away key satisfies them.
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    try:
        _manage(env, "migrate", "--verbosity", "0", quiet=True)
        started = time.perf_counter()
        _manage(env, "seed_demo", "--enterprises", str(size), "--no-history", quiet=True)
        return time.perf_counter() - started
    finally:
        if not keep:
            _admin(server, sql.SQL("DROP DATABASE IF EXISTS {}").format(database))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], metavar="N")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database name (default: $BENCH_POSTGRES or local postgres)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench_seed_<size> databases afterwards")
    args = parser.parse_args()

    print("size, seconds, rows/s", flush=True)
    for size in args.sizes:
        seconds = run(size, server=args.server, keep=args.keep)
        print(f"{size}, {seconds:.1f}, {size / seconds:.0f}", flush=True)


if __name__ == "__main__":
    main()
