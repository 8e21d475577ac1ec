"""Reasons a sync could not run at all (as opposed to invalid examples, which are reported).

The operator maps them to status conditions: SourceUnreachable and AuthenticationFailed ->
FetchFailed, StorageUnavailable -> StorageFailed, DatabaseUnavailable -> DatabaseFailed,
SyncRunning -> ReconcileFailed (retried with backoff until the other sync has finished).
`retryable` tells it whether backing off and retrying can help (a wrong token cannot).
"""

from __future__ import annotations


class SyncError(RuntimeError):
    """The sync did not run; nothing already stored was changed. The message says why."""

    retryable = True


class SourceUnreachable(SyncError):
    """The Git server / S3 source / directory could not be read (or the ref does not exist)."""


class SourceRefused(SourceUnreachable):
    """exlib does not use this address (a local path, credentials in the URL): fix the spec."""

    retryable = False


class AuthenticationFailed(SourceUnreachable):
    """The source refused the credentials: fix the secret, retrying will not help."""

    retryable = False


class StorageUnavailable(SyncError):
    """MinIO/S3 holding the library could not be written or read."""


class DatabaseUnavailable(SyncError):
    """PostgreSQL could not be reached or refused the transaction."""


class SyncRunning(SyncError):
    """Another sync of the same repository (`exlib sync` or the operator) held its lock."""


class VersionNotFound(LookupError):
    """No stored version of the example matches the requested version spec."""


class IncompleteVersion(RuntimeError):
    """A stored version's object is missing or damaged: it cannot be deployed (the message
    names the object and says what to do)."""
