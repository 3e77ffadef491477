"""Back up and restore the database and the media files (docs/DEPLOY.md, "Backup and restore").

    scripts/backup DEST_DIR                 # .venv/bin/python scripts/backup_restore.py backup DEST_DIR
    scripts/restore BACKUP_DIR [--force]    # .venv/bin/python scripts/backup_restore.py restore BACKUP_DIR

Both read the app's own environment through config.settings (DATABASE_URL, MEDIA_ROOT,
MEDIA_STORAGE, ...), so they copy exactly what the app uses. A backup directory holds:

    database.dump     PostgreSQL: `pg_dump -Fc`, one consistent snapshot taken while the app runs
    database.sqlite3  SQLite: a copy made through SQLite's online backup API, also safe while it runs
    media.tar         MEDIA_ROOT, taken after the database so that every file a row names is in it
                      (filesystem storage only: an S3 bucket is kept by the store, see the docs)
    manifest.json     written last, so a backup without it is one that did not finish: what the
                      backup holds and the size and SHA-256 of every file

Restore checks every file against the manifest before it writes anything, refuses a database that
has tables or a MEDIA_ROOT that has files unless --force, restores, then runs
`manage.py verify_audit` and `manage.py check` and exits non-zero if either fails.
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"
FORMAT = 1
FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"


class BackupError(Exception):
    """Stops the run with a message for the operator."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def django_settings():
    """config.settings, as the app reads it from the environment."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    return settings


def engine_of(database: dict) -> str:
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    if engine not in {"postgresql", "sqlite3"}:
        raise BackupError(f"DATABASE_URL: cannot back up a {engine} database")
    return engine


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pg_environ(database: dict) -> dict[str, str]:
    """libpq's variables for the app's database: no password on a command line (ps shows those)."""
    environ = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if database.get(key):
            environ[variable] = str(database[key])
    if sslmode := database.get("OPTIONS", {}).get("sslmode"):
        environ["PGSSLMODE"] = sslmode
    return environ


def run(command: list[str], *, environ: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} not found: install the PostgreSQL client, the server's major version or newer"
        )
    result = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed (exit {result.returncode}): {result.stderr.strip()}")


# --- Backup ---------------------------------------------------------------------------------------


def backup(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory; a backup never writes over another")
    settings = django_settings()
    database = settings.DATABASES["default"]
    engine = engine_of(database)
    dest.mkdir(parents=True, exist_ok=True)

    if engine == "postgresql":
        database_file = "database.dump"
        log(f"backup: pg_dump of {database['NAME']} -> {database_file}")
        run(
            ["pg_dump", "--format=custom", "--no-password", f"--file={dest / database_file}"],
            environ=pg_environ(database),
        )
    else:
        database_file = "database.sqlite3"
        log(f"backup: SQLite online backup of {database['NAME']} -> {database_file}")
        sqlite_copy(Path(database["NAME"]), dest / database_file)

    if settings.STORAGES["default"]["BACKEND"] == FILESYSTEM_STORAGE:
        media = {"storage": "filesystem", "file": "media.tar"}
        media["count"] = media_tar(Path(settings.MEDIA_ROOT), dest / "media.tar")
        log(f"backup: {media['count']} media files from {settings.MEDIA_ROOT} -> media.tar")
    else:
        media = {"storage": "s3", "file": None}
        log("backup: media are in the S3 bucket, kept by its versioning and replication; not copied here")

    files = [database_file] + ([media["file"]] if media["file"] else [])
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"engine": engine, "name": str(database["NAME"]), "file": database_file},
        "media": media,
        "files": {
            name: {"bytes": (dest / name).stat().st_size, "sha256": sha256_of(dest / name)} for name in files
        },
    }
    partial = dest / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    partial.rename(dest / MANIFEST)
    log(f"backup: done, {dest / MANIFEST}")


def sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"DATABASE_URL: there is no SQLite database at {source}")
    # The backup API copies a consistent snapshot page by page while the app keeps writing.
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def media_tar(root: Path, target: Path) -> int:
    count = 0

    def counted(member: tarfile.TarInfo) -> tarfile.TarInfo:
        nonlocal count
        count += member.isfile()
        return member

    with tarfile.open(target, "w") as tar:
        # Photos and PDFs are compressed already; gzip would cost time and save little.
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            tar.add(entry, arcname=entry.name, filter=counted)
    return count


# --- Restore --------------------------------------------------------------------------------------


def verified_manifest(source: Path) -> dict:
    """The manifest, once every file it lists is there with its size and SHA-256; else BackupError."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source}: no {MANIFEST}, so not a backup, or one that did not finish")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        needed = {manifest["database"]["file"], manifest["media"]["file"]} - {None}
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path}: not a manifest this script wrote ({exc!r})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: format {manifest.get('format')!r}, this script reads {FORMAT}")
    if missing := needed - files.keys():
        raise BackupError(f"{path}: lists no hash for {', '.join(sorted(missing))}")
    for name, expected in sorted(files.items()):
        file = source / name
        if Path(name).name != name or not file.is_file():
            raise BackupError(f"{name}: missing from {source}")
        if file.stat().st_size != expected["bytes"] or sha256_of(file) != expected["sha256"]:
            raise BackupError(
                f"{name}: does not match its SHA-256 in the manifest; the backup is damaged or was "
                "altered. Nothing was restored."
            )
    log(f"restore: {len(files)} files match the manifest of {manifest['created_at']}")
    return manifest


def restore(source: Path, *, force: bool) -> int:
    manifest = verified_manifest(source)
    settings = django_settings()
    database = settings.DATABASES["default"]
    engine = engine_of(database)
    if manifest["database"]["engine"] != engine:
        raise BackupError(
            f"the backup holds a {manifest['database']['engine']} database; DATABASE_URL names a {engine} one"
        )
    media_file = manifest["media"]["file"]
    media_root = Path(settings.MEDIA_ROOT)
    if media_file and settings.STORAGES["default"]["BACKEND"] != FILESYSTEM_STORAGE:
        raise BackupError("the backup holds media files, but MEDIA_STORAGE is not filesystem here")

    # Every refusal comes before the first write.
    occupied = []
    if not database_empty(database, engine):
        occupied.append(f"database {database['NAME']} has tables")
    if media_file and media_root.is_dir() and any(media_root.iterdir()):
        occupied.append(f"MEDIA_ROOT {media_root} has files")
    if occupied and not force:
        raise BackupError(f"{'; '.join(occupied)}. Restore into an empty one, or give --force to replace it")

    database_file = source / manifest["database"]["file"]
    if engine == "postgresql":
        pg_restore(database, database_file, wipe=bool(occupied))
    else:
        sqlite_restore(database_file, Path(database["NAME"]))
    log(f"restore: database {database['NAME']} restored")
    if media_file:
        media_root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(source / media_file) as tar:
            # "data": no absolute paths, no "..", no links out of MEDIA_ROOT, no device files.
            tar.extractall(media_root, filter="data")
        log(f"restore: {manifest['media']['count']} media files restored into {media_root}")
    else:
        log("restore: the backup holds no media files (they were in an S3 bucket)")

    failed = [command for command in ("verify_audit", "check") if not manage(command)]
    if failed:
        log(f"restore: the restored data failed {' and '.join(failed)}")
        return 1
    log("restore: done")
    return 0


def database_empty(database: dict, engine: str) -> bool:
    if engine == "sqlite3":
        path = Path(database["NAME"])
        if not path.is_file() or path.stat().st_size == 0:
            return True
        try:
            with sqlite3.connect(path, timeout=30) as db:
                tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            db.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"DATABASE_URL: {path} is not a readable SQLite database ({exc})") from None
        return tables == 0
    from django.db import OperationalError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
            )
            relations = cursor.fetchone()[0]
    except OperationalError as exc:
        raise BackupError(
            f"cannot connect to database {database['NAME']} ({exc}). Create it first, empty "
            f"(createdb {database['NAME']}), owned by the app's database user"
        ) from None
    finally:
        connection.close()
    return relations == 0


def pg_restore(database: dict, dump: Path, *, wipe: bool) -> None:
    if wipe:
        from django.db import connection

        log(f"restore: --force: dropping every table of {database['NAME']} (schema public)")
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        connection.close()
    # --no-owner and --no-privileges: the restored tables belong to the app's user, even when the
    # dump comes from a server with other role names. One transaction: a failure leaves it empty.
    run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={database['NAME']}",
            str(dump),
        ],
        environ=pg_environ(database),
    )


def sqlite_restore(copy: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # immutable: read the backup as it is, without creating -wal or -shm files beside it.
    with (
        sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro&immutable=1", uri=True) as src,
        sqlite3.connect(target, timeout=30) as dst,
    ):
        src.backup(dst)
    src.close()
    dst.close()


def manage(command: str) -> bool:
    """`manage.py COMMAND` on the restored data, in this process: Django is set up already."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    log(f"restore: manage.py {command}")
    try:
        call_command(command, stdout=sys.stdout, stderr=sys.stderr)
    except CommandError as exc:  # SystemCheckError, which check raises, is one too
        log(f"restore: {command}: {exc}")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    backup_parser = commands.add_parser("backup", help="database and media into a new directory")
    backup_parser.add_argument("dest", metavar="DEST_DIR", type=Path, help="a new or empty directory")
    restore_parser = commands.add_parser("restore", help="a backup into an empty database and MEDIA_ROOT")
    restore_parser.add_argument("source", metavar="BACKUP_DIR", type=Path, help="what `backup` wrote")
    restore_parser.add_argument(
        "--force",
        action="store_true",
        help="drop the database's tables and extract over MEDIA_ROOT's files instead of refusing",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            backup(args.dest)
            return 0
        return restore(args.source, force=args.force)
    except BackupError as exc:
        log(f"{args.command}: error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
