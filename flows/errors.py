"""Our own exception types. Every message says what is wrong and where, so that a data
engineer can act on it without reading a traceback.

The exit codes of ``votum`` (each error type carries its own as ``exit_code``):
0 done; 1 an unexpected error; 2 configuration; 3 a file of the drop is unusable;
4 the warehouse is busy or unreadable; 5 dbt failed; 6 a quality rule could not run;
7 the mail server cannot be used (nothing was claimed or sent); 8 the day was refused;
9 the run went through but emails did not all go out (left pending because the server
kept deferring them, or failed, or of unknown outcome); 10 the day is held; 11 the drop
is not delivered yet (its completion marker is missing); 12 ``votum explain`` has nothing
to explain (no such Message-ID, no marts yet).
"""

from __future__ import annotations

# Outcomes that are not errors: the command did its work, the exit code says how it ended.
EXIT_DEGRADED = 9
EXIT_HELD = 10


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
    a day after today or a weekend or holiday without ``--force``)."""

    exit_code = 8


class DropNotReadyError(VotumError):
    """The drop's completion marker (``VOTUM_DROP_READY_MARKER``) is not there: the drop
    is not delivered yet (still being copied). Nothing was loaded."""

    exit_code = 11
