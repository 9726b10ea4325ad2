"""Errors that reach the user. Each message says, in Dutch, what is wrong in the user's terms
(which table, which gemeente, which file) and, where it helps, what to do about it."""


class VeiligheidsbeeldError(Exception):
    """Base class: the CLI prints these as one clear sentence (traceback only with --debug)."""


class ConfigError(VeiligheidsbeeldError):
    """Bad configuration or bad command-line input (unknown district, gemeente, code, date)."""


class SourceError(VeiligheidsbeeldError):
    """A source could not be read: network failure after retries, a malformed page or file."""


class SourceUnavailableError(SourceError):
    """The API cannot be reached at all (no network, DNS failure)."""


class SchemaDriftError(SourceError):
    """The upstream table changed shape (renamed dimension, missing measure column, ...)."""


class WarehouseError(VeiligheidsbeeldError):
    """The warehouse cannot be opened or written (corrupt, locked by another writer, disk full)."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse's write lock."""


class WarehouseVersionError(WarehouseError):
    """The warehouse has another schema version than this code (older: upgrade it; newer: refused)."""


class DataError(VeiligheidsbeeldError):
    """The data needed for an analysis is missing or incomplete (no baseline year, no months)."""
