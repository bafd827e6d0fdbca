"""Durable, write-once storage of issued documents' bytes: a local directory or an S3 bucket.

Keys are never reused: each issuing attempt writes under a fresh key, and only the key that the
committed document row names is ever served. An attempt that rolled back leaves an orphan
object behind, which is harmless (nothing refers to it) and never overwrites an issued file.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse


class DocumentStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...


class LocalStore:
    """Files under a directory, written atomically (temp file, fsync, link into place)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)  # fails rather than overwrite: stored bytes are immutable
        finally:
            os.unlink(tmp)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)


class S3Store:
    """Objects in an S3-compatible bucket (boto3, run in worker threads)."""

    def __init__(self, bucket: str, prefix: str, client) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

        return await asyncio.to_thread(read)


def open_store(settings) -> DocumentStore:
    """`DOCUMENTS_STORE`: a directory (relative paths as given), or `s3://bucket/prefix`."""
    location = settings.documents_store
    if not location.startswith("s3://"):
        return LocalStore(location)
    import boto3

    parsed = urlparse(location)
    client = boto3.client(
        "s3",
        endpoint_url=settings.aws_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        region_name=settings.aws_region,
    )
    return S3Store(parsed.netloc, parsed.path, client)
