"""The example library: sources (git, s3, dir), scanning, digests, sync planning and execution.

Entry points: `sync.sync_repository` (operator and `exlib sync`), `sync.remote_revision`
(cheap change check), `versions.resolve_version` / `versions.version_files` (course
deployment), `sync.validate` (`exlib validate`).
"""
