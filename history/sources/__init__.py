"""Data from other departments' systems and devices (协同监管 · 科技监管): the sources' schemas,
their keys, and the batches of attributes and signals they send, by API or by file.

- ``schema``: the format of a source's attribute_schema and signal_schema (``SCHEMA_HELP``);
- ``registry``: creating and editing sources; ``credentials``: their keys;
- ``rows`` and ``ingest``: checking and writing batches; ``files``: the exchange files
  (attributes.csv, signals.csv) through the same checks.
"""

from history.sources.credentials import (
    CredentialError,
    credential_find,
    credential_revoke,
    credential_rotate,
    credential_used,
)
from history.sources.ingest import (
    BatchResult,
    FileResult,
    IngestError,
    RateLimited,
    batch_ingest,
    file_ingest,
)
from history.sources.registry import SourceError, owner_candidates, source_create, source_update
from history.sources.schema import SCHEMA_HELP, SchemaError

__all__ = [
    "SCHEMA_HELP",
    "BatchResult",
    "CredentialError",
    "FileResult",
    "IngestError",
    "RateLimited",
    "SchemaError",
    "SourceError",
    "batch_ingest",
    "credential_find",
    "credential_revoke",
    "credential_rotate",
    "credential_used",
    "file_ingest",
    "owner_candidates",
    "source_create",
    "source_update",
]
