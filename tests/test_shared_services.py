"""What several app servers share: files in an S3-compatible bucket, cache and sessions in Redis.

Both run against real servers on loopback: moto's S3-compatible HTTP server (the
storage talks to it through boto3 exactly as to AWS S3 or MinIO) and Debian's
redis-server. Each is switched on by the settings that production uses
(`CLAIMDESK_S3_BUCKET`, `CLAIMDESK_REDIS_URL`; docs/deployment.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from claimdesk.accounts.tokens import api_token_create
from claimdesk.api import guard
from claimdesk.core.errors import DomainError
from claimdesk.messaging import services
from claimdesk.messaging.models import NoteAttachment, NoteCategory
from tests.conftest import need
from tests.factories import order_in
from tests.test_notes import PDF, png_bytes

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings_under(env: dict[str, str]) -> dict[str, Any]:
    """Load config.settings in a fresh interpreter with `env` and return what matters here."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'STORAGES': settings.STORAGES, 'CACHES': settings.CACHES, "
        "'SESSION_ENGINE': settings.SESSION_ENGINE}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMDESK_")}
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


# --- settings ----------------------------------------------------------------------------------


def test_one_machine_keeps_files_on_disk_and_cache_and_sessions_in_the_database() -> None:
    """Without the two variables: local files, the database cache table, database sessions."""
    loaded = _settings_under({})
    assert loaded["STORAGES"]["default"]["BACKEND"].endswith("FileSystemStorage")
    assert "note_attachments" not in loaded["STORAGES"]
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("DatabaseCache")
    assert loaded["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_the_bucket_and_redis_are_switched_on_by_setting() -> None:
    """CLAIMDESK_S3_BUCKET puts every upload in the bucket; CLAIMDESK_REDIS_URL the cache and sessions."""
    loaded = _settings_under(
        {
            "CLAIMDESK_S3_BUCKET": "shop-files",
            "CLAIMDESK_S3_ENDPOINT_URL": "https://minio.internal:9000",
            "CLAIMDESK_S3_REGION": "ap-northeast-1",
            "CLAIMDESK_REDIS_URL": "redis://cache.internal:6379/0",
        }
    )
    attachments = loaded["STORAGES"]["note_attachments"]
    assert attachments["BACKEND"] == "storages.backends.s3.S3Storage"
    assert attachments["OPTIONS"] == {
        "bucket_name": "shop-files",
        "endpoint_url": "https://minio.internal:9000",
        "region_name": "ap-northeast-1",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
        "location": "private",
    }
    assert loaded["STORAGES"]["default"]["OPTIONS"]["location"] == "media"
    assert loaded["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/0",
    }
    assert loaded["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"


# --- files in an S3-compatible bucket ----------------------------------------------------------


@pytest.fixture
def s3(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A local S3-compatible server with an empty bucket; attachments stored there."""
    server_module = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "claimdesk-test",
        "AWS_SECRET_ACCESS_KEY": "claimdesk-test-secret",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
    }.items():
        monkeypatch.setenv(name, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's request log
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = f"claimdesk-files-{uuid.uuid4().hex[:12]}"  # the server's state outlives it
    client = boto3.client("s3", endpoint_url=endpoint, region_name="ap-northeast-1")
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": "ap-northeast-1",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    media = tempfile.mkdtemp(prefix="claimdesk-media-")
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**options, "location": "media"},
        },
        "note_attachments": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**options, "location": "private"},
        },
    }
    try:
        yield Bucket(client, bucket)
    finally:
        server.stop()
        shutil.rmtree(media, ignore_errors=True)


@dataclass
class Bucket:
    client: Any
    name: str

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body


def test_attachments_go_to_the_bucket_and_download_from_any_server(
    s3, seller, buyer, other_buyer
) -> None:
    """A note's files land in the bucket, not on the server's disk, and both parties download them."""
    order = order_in("new", seller=seller, buyer=buyer)
    seller_server = Client()
    seller_server.force_login(seller)
    response = seller_server.post(
        reverse("seller:note_send", args=[order.order_no]),
        {
            "recipient": "buyer",
            "category": "cancel_refund",
            "title": "キャンセルのお知らせ",
            "body": "在庫切れのためキャンセルします。",
            "attachments": [
                SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
                SimpleUploadedFile("明細.pdf", PDF, content_type="application/pdf"),
            ],
        },
    )
    assert response.status_code == 302
    files = list(NoteAttachment.objects.filter(note__order=order).order_by("id"))
    assert len(files) == 2
    keys = s3.keys()
    assert keys == sorted(f"private/{f.file.name}" for f in files)
    assert all(key.startswith(f"private/notes/{order.order_no}/") for key in keys)
    stored = s3.read(f"private/{files[1].file.name}")
    assert stored == PDF
    assert not any(Path(str(s3_media_root())).rglob("*.pdf"))

    # Another app server (a separate client and session) serves the buyer the same bytes.
    buyer_server = Client()
    buyer_server.force_login(buyer)
    download = buyer_server.get(reverse("buyer:note_attachment", args=[files[0].pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == png_bytes()

    # Someone else's buyer still cannot read it, bucket or not.
    stranger = Client()
    stranger.force_login(other_buyer)
    assert stranger.get(reverse("buyer:note_attachment", args=[files[0].pk])).status_code == 404


def s3_media_root() -> str:
    from django.conf import settings

    return str(settings.MEDIA_ROOT)


def test_a_refused_note_leaves_no_object_in_the_bucket(s3, seller, buyer, monkeypatch) -> None:
    """When the note is refused after its files were stored, the stored objects are removed."""
    order = order_in("new", seller=seller, buyer=buyer)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DomainError("refused_for_test", "refused")

    monkeypatch.setattr("claimdesk.messaging.webhook_fanout.webhook_on_note", refuse)
    with pytest.raises(DomainError):
        services.note_send(
            actor=seller,
            order=order,
            category=NoteCategory.CANCEL_REFUND,
            title="在庫切れ",
            body="在庫切れのためキャンセルします。",
            attachments=[SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")],
        )
    assert not NoteAttachment.objects.exists()
    assert s3.keys() == []


# --- cache, rate limits and sessions in Redis --------------------------------------------------


@pytest.fixture
def redis_url(settings: Any) -> Iterator[str]:
    """A throwaway redis-server on loopback; the cache and sessions use it."""
    binary = shutil.which("redis-server")
    need(binary is not None, "needs redis-server (apt-get install redis-server)")
    redis = pytest.importorskip("redis")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="claimdesk-redis-")
    process = subprocess.Popen(  # noqa: S603 (redis-server from PATH, fixed arguments)
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    probe = redis.Redis.from_url(url, socket_connect_timeout=5, retry_on_timeout=True)
    try:
        for _ in range(500):  # wait for the server to accept connections (~0.01 s each)
            try:
                probe.ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None:
                    pytest.fail("redis-server exited at start")
                threading.Event().wait(0.01)
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }
        settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def test_rate_limit_is_counted_atomically_in_redis(redis_url, seller, settings) -> None:
    """Eight threads spend 200 calls against a limit of 150 in one minute: exactly 50 are refused."""
    import redis
    import time_machine

    settings.CLAIMDESK = {**settings.CLAIMDESK, "API_RATE_LIMIT_PER_MINUTE": 150}
    assert type(caches["default"]).__name__ == "RedisCache"
    token, _raw = api_token_create(actor=seller, name="load", can_write=False)
    refused: list[int] = []
    start = threading.Barrier(8)

    def spend() -> None:
        start.wait()
        for _ in range(25):
            if guard._rate_limited(token) is not None:
                refused.append(1)

    # One frozen instant for every thread: all 200 calls fall in the same minute's window.
    with time_machine.travel(1_800_000_030.0, tick=False):
        threads = [threading.Thread(target=spend) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(refused) == 50
    store = redis.Redis.from_url(redis_url)
    keys = store.keys(f"*api-rate:{token.pk}:*")
    assert len(keys) == 1 and int(store.get(keys[0]) or 0) == 200


def test_login_throttle_and_sessions_with_redis(redis_url, seller) -> None:
    """With Redis as the cache, sign-ins are still throttled; a session works on another server."""
    import redis
    from axes.utils import reset

    store = redis.Redis.from_url(redis_url)
    browser = Client()
    for _ in range(5):
        browser.post(reverse("seller:login"), {"username": seller.username, "password": "wrong"})
    refused = browser.post(
        reverse("seller:login"), {"username": seller.username, "password": "pw-for-tests-123"}
    )
    assert refused.status_code == 429

    reset()  # the pause is lifted when the failures go
    signed_in = Client()
    answer = signed_in.post(
        reverse("seller:login"), {"username": seller.username, "password": "pw-for-tests-123"}
    )
    assert answer.status_code == 302
    session_key = signed_in.cookies["sessionid"].value
    assert any(session_key.encode() in key for key in store.keys("*"))
    # A second app server: a new client carrying only the cookie reaches the seller home.
    other_server = Client()
    other_server.cookies["sessionid"] = session_key
    assert other_server.get(reverse("seller:home")).status_code == 200
    # The session is also in the database: it survives Redis being flushed.
    store.flushdb()
    assert other_server.get(reverse("seller:home")).status_code == 200
