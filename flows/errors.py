"""Our own exception types. Every message says what is wrong and where, so that a data
engineer can act on it without reading a traceback."""

from __future__ import annotations


class VotumError(Exception):
    """Base of every error votum raises on purpose. The CLI prints these without a
    traceback and exits with :attr:`exit_code`."""

    exit_code = 1


class ConfigurationError(VotumError):
    """A setting is missing or has a value we cannot use."""

    exit_code = 2


class DropError(VotumError):
    """A drop folder or one of its files cannot be loaded (file fault)."""

    exit_code = 3


class MissingFileError(DropError):
    """A required file of a drop is absent."""


class MissingColumnError(DropError):
    """A file of a drop lacks a required column."""


class MalformedFileError(DropError):
    """A file of a drop cannot be parsed at all (encoding, quoting, ambiguous name)."""


class WarehouseError(VotumError):
    """The warehouse cannot be opened or written."""

    exit_code = 4


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse."""


class TransformError(VotumError):
    """dbt could not build the models or one of their tests failed."""

    exit_code = 5


class RunInProgressError(WarehouseBusyError):
    """Another votum run holds the run lock of this ``VOTUM_HOME``."""


class RunRefusedError(VotumError):
    """The run was asked for a day it must not run (an older day without ``--backfill``,
    a weekend or holiday without ``--force``)."""

    exit_code = 8
