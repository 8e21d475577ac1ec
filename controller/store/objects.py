"""S3/MinIO adapter: put, get and list objects in one bucket.

Used for the library's own store (settings.s3_*) and, with other credentials, to read S3
example sources. Failures surface as `ObjectStoreUnavailable` (cannot reach the server) or
`ObjectStoreDenied` (credentials or permissions), so callers can tell a retry from a fix;
a missing object is a KeyError.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

T = TypeVar("T")

_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
_MISSING = {"NoSuchKey", "NoSuchObject"}


class ObjectStoreError(RuntimeError):
    """Base class; the message names the endpoint and bucket."""


class ObjectStoreUnavailable(ObjectStoreError):
    """The server did not answer (down, network) or answered with a server error."""


class ObjectStoreDenied(ObjectStoreError):
    """The server refused the credentials or the operation, or the bucket does not exist."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    etag: str
    size: int


class ObjectStore:
    """One bucket on one S3-compatible endpoint, with a connection pool sized for `workers`."""

    def __init__(self, endpoint: str, access_key: str | None, secret_key: str | None,
                 bucket: str, *, secure: bool = False, region: str | None = None,
                 workers: int = 8) -> None:
        http = urllib3.PoolManager(
            maxsize=workers + 2,
            timeout=urllib3.Timeout(connect=5, read=60),
            retries=urllib3.Retry(total=3, backoff_factor=0.2,
                                  status_forcelist=[500, 502, 503, 504]),
        )
        self.endpoint = endpoint
        self.bucket = bucket
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                             secure=secure, region=region, http_client=http)

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one client call, translating failures into this module's two error kinds."""
        where = f"S3 endpoint {self.endpoint}, bucket {self.bucket}"
        try:
            return fn()
        except S3Error as err:
            if err.code in _DENIED or err.code == "NoSuchBucket":
                raise ObjectStoreDenied(f"{where}: {err.code}: {err.message}") from err
            raise ObjectStoreUnavailable(f"{where}: {err.code}: {err.message}") from err
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise ObjectStoreUnavailable(f"{where} is unreachable: {err}") from err

    def ensure_bucket(self) -> None:
        """Create the bucket when missing (the operator's first start on a new MinIO)."""
        if not self._call(lambda: self._client.bucket_exists(self.bucket)):
            self._call(lambda: self._client.make_bucket(self.bucket))

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._call(lambda: self._client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type=content_type))

    def get(self, key: str) -> bytes:
        """The object's bytes; raises KeyError when it does not exist."""
        def read() -> bytes:
            resp = self._client.get_object(self.bucket, key)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        try:
            return self._call(read)
        except ObjectStoreUnavailable as err:
            if isinstance(err.__cause__, S3Error) and err.__cause__.code in _MISSING:
                raise KeyError(key) from None
            raise

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object below `prefix` (recursive), in key order, streamed page by page."""
        it = self._call(lambda: iter(self._client.list_objects(
            self.bucket, prefix=prefix, recursive=True)))
        while True:
            obj = self._call(lambda: next(it, None))
            if obj is None:
                return
            yield ObjectInfo(obj.object_name or "", (obj.etag or "").strip('"'), obj.size or 0)
