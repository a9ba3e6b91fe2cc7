"""Exception types users can catch.

Every error that describes bad input derives from :class:`SigvaeError`; the CLI turns
these into one line on stderr and exit status 2. Anything else is a bug in sigvae.
"""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type's name if it has none): for quoting a
    library's error inside sigvae's one-line message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class SigvaeError(Exception):
    """Base class for every error caused by what the user gave sigvae."""


class ConfigError(SigvaeError, ValueError):
    """A configuration value or file is wrong: unknown key, wrong type, out of range."""


class DataError(SigvaeError, ValueError):
    """A data file or array is unusable: missing key, wrong shape or dtype, NaN, empty."""


class ModelFileError(SigvaeError):
    """A model folder is missing, incomplete, unsafe or was written by an unknown model."""


class UnknownNameError(ConfigError, KeyError):
    """A name (model, method, data set, benchmark) is not in its registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotSupportedError(SigvaeError):
    """The model cannot do what was asked (for example, decode with an encoder-only model)."""


class TrainingDivergedError(SigvaeError):
    """A loss became NaN or infinite during training."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: the CLI's handler raises this so the command unwinds.

    A BaseException (like KeyboardInterrupt) so that no ``except Exception`` swallows it,
    but not KeyboardInterrupt itself: Lightning turns that into ``sys.exit(1)`` mid-fit,
    which loses the exit status 130 and the message. Staged outputs are removed on the way
    out, as for any failure.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
