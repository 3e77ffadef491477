"""The scale-out settings (RQ tasks, S3 media): read once per process, so each case starts a fresh
interpreter, like tests/config/test_settings.py. Nothing here needs Redis or a bucket."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "roduction-secret-key-that-is-long-enough-0123456789",
    "ALLOWED_HOSTS": "supervision.example.gov.cn",
    "PUBLIC_BASE_URL": "https://supervision.example.gov.cn",
    "AUDIT_CHAIN_KEY": "production-audit-chain-key-kept-apart-from-the-database",
}
S3 = {
    "MEDIA_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "supervision-media",
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret-key",
    "AWS_S3_ENDPOINT_URL": "https://s3.example.gov.cn",
    "AWS_S3_REGION_NAME": "cn-north-1",
}
# Whatever the caller's shell exports must not leak into a case.
_CLEARED = {"DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "DATABASE_URL", "TASKS_BACKEND", "REDIS_URL"}


def run_manage(tmp_path, *args, **environ):
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED and not k.startswith(("AWS_", "MEDIA_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "VAR_DIR": str(tmp_path), **PRODUCTION, **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {**S3, "AWS_STORAGE_BUCKET_NAME": ""},
            "AWS_STORAGE_BUCKET_NAME: this environment variable must be set",
        ),
        ({**S3, "AWS_ACCESS_KEY_ID": ""}, "AWS_ACCESS_KEY_ID: this environment variable must be set"),
        ({**S3, "AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY: this environment variable must be set"),
        ({**S3, "AWS_S3_ENDPOINT_URL": "minio:9000"}, "AWS_S3_ENDPOINT_URL: expected an absolute http"),
        ({**S3, "AWS_S3_ADDRESSING_STYLE": "dns"}, "AWS_S3_ADDRESSING_STYLE: expected auto, path or virtual"),
        ({"MEDIA_STORAGE": "nfs"}, "MEDIA_STORAGE: expected filesystem or s3, got 'nfs'"),
        ({"TASKS_BACKEND": "celery"}, "TASKS_BACKEND: expected one of database, rq, immediate"),
        ({"TASKS_BACKEND": "rq", "REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL: expected redis://"),
        ({"TASKS_BACKEND": "rq", "TASK_TIMEOUT": "10"}, "TASK_TIMEOUT: must be at least 60"),
    ],
)
def test_a_missing_or_bad_scale_out_variable_stops_start_up_naming_it(tmp_path, environ, message):
    result = run_manage(tmp_path, "check", **environ)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_scale_out_configuration_passes_the_deploy_checks(tmp_path):
    # The RQ backend's own check wants django_rq installed and every Tasks queue in RQ_QUEUES.
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", TASKS_BACKEND="rq", **S3)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_rq_settings_point_the_default_queue_and_the_worker_at_redis(tmp_path):
    script = (
        "import json; from django.conf import settings; from django.tasks import task_backends;"
        "b = task_backends['default'];"
        "print(json.dumps([type(b).__name__, sorted(b.queues), settings.RQ_QUEUES, settings.RQ,"
        " 'django_rq' in settings.INSTALLED_APPS]))"
    )
    result = run_manage(
        tmp_path, "shell", "-c", script, TASKS_BACKEND="rq", REDIS_URL="redis://redis.internal:6379/2"
    )
    assert result.returncode == 0, result.stderr
    backend, queues, rq_queues, rq, installed = json.loads(result.stdout.strip().splitlines()[-1])
    assert (backend, queues, installed) == ("RQBackend", ["default"], True)
    assert rq_queues == {"default": {"URL": "redis://redis.internal:6379/2", "DEFAULT_TIMEOUT": 10800}}
    assert rq == {"JOB_CLASS": "django_tasks_rq.Job"}


def test_without_rq_the_app_needs_neither_redis_nor_django_rq(tmp_path):
    script = "from django.conf import settings; print('django_rq' in settings.INSTALLED_APPS)"
    result = run_manage(tmp_path, "shell", "-c", script, REDIS_URL="redis://nowhere.invalid:1/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_s3_media_is_private_signed_and_never_overwritten(tmp_path):
    # Evidence originals must never become public: no ACL (the bucket's private policy), and any
    # URL the storage makes is signed and expires. Signing happens locally; no request is sent.
    script = (
        "import json; from django.core.files.storage import storages; s = storages['default'];"
        "print(json.dumps([type(s).__name__, s.bucket_name, s.endpoint_url, s.region_name,"
        " s.default_acl, s.querystring_auth, s.querystring_expire, s.file_overwrite,"
        " s.url('photos/original/2025/01/evidence.jpg')]))"
    )
    result = run_manage(tmp_path, "shell", "-c", script, **S3)
    assert result.returncode == 0, result.stderr
    backend, bucket, endpoint, region, acl, signed, expire, overwrite, url = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert (backend, bucket, endpoint, region) == (
        "S3Storage",
        "supervision-media",
        "https://s3.example.gov.cn",
        "cn-north-1",
    )
    assert acl is None and signed is True and expire == 300 and overwrite is False
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
