"""Backup and restore as an operator runs them: scripts/backup and scripts/restore in subprocesses,
on the engine of this test run (SQLite, or PostgreSQL when DATABASE_URL names one), against
databases and media folders of their own, never the test database. See docs/DEPLOY.md.

One source is built per module (migrate, demo data, an evidence photo, a stored QR code, audit
events) and backed up once; each test restores that backup somewhere new.
"""

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
SEED = """
import io, json
from PIL import Image
from core.audit import audit_record
from demo.seed import business_enterprise, demo_seed
from core.models import AuditEvent, IdentityCode
from core.photos import photo_ingest
from core.qr import code_png

demo_seed(enterprises=16, password="backup-test-password")
image = io.BytesIO()
Image.effect_noise((96, 96), 60).convert("RGB").save(image, "PNG")
photo = photo_ingest(upload=io.BytesIO(image.getvalue()))
audit_record(actor=None, action="photo.upload", target=photo, data={"sha256": photo.sha256})
code_png(IdentityCode.objects.get(enterprise=business_enterprise(), status="active"))
events = AuditEvent.objects.count()
print(json.dumps({"photo": photo.original.name, "sha256": photo.sha256, "events": events}))
"""


class Postgres:
    """Throw-away databases on the server of this test run."""

    def __init__(self, config: dict):
        self.config = config
        self.created: list[str] = []

    def url(self, name: str) -> str:
        password = f":{self.config['PASSWORD']}" if self.config.get("PASSWORD") else ""
        return (
            f"postgres://{self.config['USER']}{password}@{self.config['HOST'] or '127.0.0.1'}"
            f":{self.config['PORT'] or 5432}/{name}"
        )

    def _connect(self, name: str = "postgres"):
        return psycopg.connect(
            dbname=name,
            host=self.config["HOST"] or "127.0.0.1",
            port=self.config["PORT"] or 5432,
            user=self.config["USER"],
            password=self.config.get("PASSWORD") or None,
            autocommit=True,
        )

    def create(self, name: str) -> None:
        with self._connect() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)

    def counts(self, name: str) -> dict[str, int]:
        with self._connect(name) as connection:
            tables = [
                row[0]
                for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ]
            return {
                table: connection.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                ).fetchone()[0]
                for table in tables
            }

    def execute(self, name: str, statement: str) -> None:
        with self._connect(name) as connection:
            connection.execute(statement)

    def drop_all(self) -> None:
        with self._connect() as connection:
            for name in self.created:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


class Sqlite:
    def __init__(self, folder: Path):
        self.folder = folder

    def url(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.sqlite3"

    def create(self, name: str) -> None:
        """Nothing to do: the restore creates the file."""

    def counts(self, name: str) -> dict[str, int]:
        path = self.folder / f"{name}.sqlite3"
        if not path.exists():
            return {}
        with sqlite3.connect(path) as connection:
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            counts = {
                table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables
            }
        connection.close()
        return counts

    def execute(self, name: str, statement: str) -> None:
        with sqlite3.connect(self.folder / f"{name}.sqlite3") as connection:
            connection.execute(statement)
        connection.close()

    def drop_all(self) -> None:
        """Files under tmp_path; pytest removes them."""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    config = settings.DATABASES["default"]
    if config["ENGINE"] == "django.db.backends.postgresql":
        engine = Postgres(config)
    else:
        engine = Sqlite(tmp_path_factory.mktemp("databases"))
    yield engine
    engine.drop_all()


class Site:
    """One installation: a database and a media folder, driven through manage.py and the scripts."""

    def __init__(self, engine, folder: Path, name: str):
        self.engine, self.name = engine, name
        self.media = folder / f"{name}-media"
        self.environ = {
            **{
                k: v
                for k, v in os.environ.items()
                if k not in {"DATABASE_URL", "MEDIA_ROOT", "SECRET_KEY"}
                and not k.startswith(("AWS_", "MEDIA_"))
            },
            "DEBUG": "1",
            # The same audit chain key on every site, as on a real restore (it is kept apart from
            # the backups, like SECRET_KEY): without it the restored chain cannot be verified.
            "AUDIT_CHAIN_KEY": "backup-test-audit-chain-key-0123456789abcdef",
            "VAR_DIR": str(folder / "var"),
            "TASKS_BACKEND": "immediate",
            "DATABASE_URL": engine.url(name),
            "MEDIA_ROOT": str(self.media),
        }

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(command), cwd=ROOT, env=self.environ, capture_output=True, text=True, timeout=300
        )

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        result = self.run(str(ROOT / ".venv/bin/python"), "manage.py", *args)
        assert result.returncode == 0, result.stderr
        return result

    def restore(self, backup: Path, *options: str) -> subprocess.CompletedProcess:
        return self.run(str(ROOT / "scripts/restore"), str(backup), *options)

    def counts(self) -> dict[str, int]:
        return self.engine.counts(self.name)

    def media_files(self) -> dict[str, str]:
        return {
            str(path.relative_to(self.media)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.media.rglob("*"))
            if path.is_file()
        }


@pytest.fixture(scope="module")
def prefix():
    return f"ops_bk_{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def source(engine, tmp_path_factory, prefix):
    folder = tmp_path_factory.mktemp("sites")
    site = Site(engine, folder, f"{prefix}_src")
    engine.create(site.name)
    site.manage("migrate", "--no-input", "-v", "0")
    site.seeded = json.loads(site.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])
    return site


@pytest.fixture(scope="module")
def backup(source, tmp_path_factory):
    dest = tmp_path_factory.mktemp("backups") / "2025-06-01"
    result = source.run(str(ROOT / "scripts/backup"), str(dest))
    assert result.returncode == 0, result.stderr
    source.backed_up = source.counts()
    return dest


@pytest.fixture
def target(engine, tmp_path, prefix):
    site = Site(engine, tmp_path, f"{prefix}_dst_{secrets.token_hex(3)}")
    engine.create(site.name)
    return site


def test_the_backup_lists_every_file_with_its_hash(backup, source):
    manifest = json.loads((backup / "manifest.json").read_text())
    database_file = "database.dump" if isinstance(source.engine, Postgres) else "database.sqlite3"
    assert sorted(path.name for path in backup.iterdir()) == sorted(
        [database_file, "manifest.json", "media.tar"]
    )
    assert manifest["database"]["file"] == database_file
    assert manifest["media"] == {"storage": "filesystem", "file": "media.tar", "count": 4}
    for name in (database_file, "media.tar"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256((backup / name).read_bytes()).hexdigest()


def test_a_restore_into_an_empty_database_brings_back_every_row_and_file_and_a_sound_audit_chain(
    source, backup, target
):
    result = target.restore(backup)

    assert result.returncode == 0, result.stderr
    assert target.counts() == source.backed_up
    assert source.backed_up["core_enterprise"] == 16 and source.backed_up["core_auditevent"] >= 4
    # verify_audit walked the restored chain: every event, each hash and link.
    assert f"audit chain ok: {source.seeded['events']} events" in result.stdout
    assert "System check identified no issues" in result.stdout
    # The media byte for byte, the evidence original still matching the hash its row keeps.
    assert target.media_files() == source.media_files()
    original = (target.media / source.seeded["photo"]).read_bytes()
    assert hashlib.sha256(original).hexdigest() == source.seeded["sha256"]


@pytest.mark.parametrize("damaged", ["database", "media.tar"])
def test_a_tampered_backup_is_refused_before_anything_is_written(source, backup, target, tmp_path, damaged):
    copy = tmp_path / "backup-copy"
    shutil.copytree(backup, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    name = manifest["database"]["file"] if damaged == "database" else damaged
    content = bytearray((copy / name).read_bytes())
    content[len(content) // 2] ^= 0x01  # one bit, same size
    (copy / name).write_bytes(bytes(content))

    result = target.restore(copy, "--force")

    assert result.returncode == 1
    assert f"restore: error: {name}: does not match its SHA-256 in the manifest" in result.stderr
    assert "Nothing was restored." in result.stderr
    assert target.counts() == {}
    assert not target.media.exists()


def test_a_backup_without_its_manifest_is_refused(backup, target, tmp_path):
    copy = tmp_path / "unfinished"
    shutil.copytree(backup, copy)
    (copy / "manifest.json").unlink()

    result = target.restore(copy)

    assert result.returncode == 1
    assert "no manifest.json, so not a backup, or one that did not finish" in result.stderr
    assert target.counts() == {}


def test_a_restore_refuses_a_database_with_tables_unless_forced_and_then_rolls_it_back(source, backup):
    # After the backup, the live site moves on: one more row.
    source.engine.execute(
        source.name,
        "INSERT INTO django_session (session_key, session_data, expire_date)"
        " VALUES ('after-the-backup', 'x', '2099-01-01 00:00:00+00')",
    )
    moved_on = source.counts()
    assert moved_on["django_session"] == source.backed_up["django_session"] + 1

    refused = source.restore(backup)

    assert refused.returncode == 1
    assert (
        f"{source.name}.sqlite3 has tables" in refused.stderr or f"{source.name} has tables" in refused.stderr
    )
    assert "MEDIA_ROOT" in refused.stderr and "give --force to replace it" in refused.stderr
    assert source.counts() == moved_on

    # --force: the tables are replaced, not merged; the site is back where the backup left it.
    forced = source.restore(backup, "--force")

    assert forced.returncode == 0, forced.stderr
    assert source.counts() == source.backed_up
    assert f"audit chain ok: {source.seeded['events']} events" in forced.stdout


def test_a_backup_never_writes_into_a_directory_that_holds_something(source, tmp_path):
    (tmp_path / "old-backup.txt").write_text("keep me")

    result = source.run(str(ROOT / "scripts/backup"), str(tmp_path))

    assert result.returncode == 1
    assert "is not an empty directory; a backup never writes over another" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["old-backup.txt"]
