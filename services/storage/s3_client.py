"""S3 client plumbing: boto3 client settings, and boto3's errors translated into the storage errors."""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from botocore import exceptions as boto_errors
from botocore.config import Config

from services.storage.base import (
    AccessDenied,
    BucketNotFound,
    EndpointUnreachable,
    KeyNotFound,
    StorageError,
    TransientStorageError,
)

TRANSIENT_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "RequestLimitExceeded", "InternalError"}
)
DENIED_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidToken", "ExpiredToken"}
)
#: Lenient S3 bucket naming (legacy names allow capitals and underscores); never a path.
BUCKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,254}")
CREDENTIAL_ERRORS = (
    boto_errors.NoCredentialsError,
    boto_errors.PartialCredentialsError,
    boto_errors.CredentialRetrievalError,
)
UNREACHABLE_ERRORS = (
    boto_errors.EndpointConnectionError,
    boto_errors.ConnectTimeoutError,
    boto_errors.ProxyConnectionError,
)
NETWORK_ERRORS = (
    boto_errors.ReadTimeoutError,
    boto_errors.ConnectionClosedError,
    boto_errors.ResponseStreamingError,
    boto_errors.IncompleteReadError,
)


def translate_error(
    exc: Exception, *, bucket: str, key: str | None = None, endpoint: str | None = None
) -> StorageError:
    """The :class:`StorageError` for a boto error: names the bucket, key and endpoint, never credentials."""
    where = f"s3://{bucket}/{key}" if key else f"bucket {bucket!r}"
    at = endpoint or "AWS S3"
    name = type(exc).__name__
    if isinstance(exc, CREDENTIAL_ERRORS):
        return AccessDenied(
            f"no usable S3 credentials for {where} ({name}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE"
        )
    if isinstance(exc, UNREACHABLE_ERRORS):
        return EndpointUnreachable(
            f"cannot reach the S3 endpoint {at} for {where} ({name}: {exc}); "
            "check LIVESLICE_S3_ENDPOINT_URL and that the server is up"
        )
    if isinstance(exc, NETWORK_ERRORS):
        return TransientStorageError(f"network error talking to {at} about {where} ({name}: {exc}); retry later")
    if isinstance(exc, boto_errors.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        detail = f"{code or status}: {error.get('Message') or 'no message'}"
        if code == "NoSuchBucket" or (status == 404 and key is None):
            return BucketNotFound(f"the bucket {bucket!r} does not exist at {at}; create it or fix LIVESLICE_S3_BUCKET")
        if code in ("NoSuchKey", "NotFound", "404") or status == 404:
            return KeyNotFound(f"no object {where} ({detail})")
        if code in DENIED_CODES or status == 403:
            return AccessDenied(f"access denied to {where} at {at} ({detail}); check the credentials and bucket policy")
        if code in TRANSIENT_CODES or status >= 500:
            return TransientStorageError(f"{at} is unavailable for {where} ({detail}); retry later")
        return StorageError(f"S3 request for {where} at {at} failed ({detail})")
    return StorageError(f"S3 request for {where} at {at} failed ({name}: {exc})")


def client_config(addressing_style: str, max_attempts: int, connect_timeout: float, read_timeout: float) -> Config:
    options: dict[str, Any] = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": addressing_style},
        "retries": {"mode": "standard", "max_attempts": max_attempts},
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
    }
    if "request_checksum_calculation" in Config.OPTION_DEFAULTS:  # botocore >= 1.36
        # its new default (CRC trailers on every upload) is rejected by many S3-compatible servers
        options["request_checksum_calculation"] = "when_required"
    return Config(**options)


def content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"
