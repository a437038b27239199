"""One error root for the whole package, split by whose fault it is.

* :class:`InputError` -- the user's input is wrong (a bad file, flag, parameter, shape string).
  The command line prints its message on one line and exits with status 2.
* :class:`Unsupported` -- we cannot translate something (an expression outside the decidable
  fragment, an op we do not model).  Callers turn it into an ``unknown`` verdict, never into
  ``ok``.
* Shape errors in a *model* are not exceptions: they are diagnostics in a report.
"""

from __future__ import annotations


class ArtsError(Exception):
    """Root of every error arts raises on purpose."""


class InputError(ArtsError):
    """The user's input is malformed: exit status 2 at the command line.

    ``where`` names the file, node, flag or parameter at fault, and is printed before the message.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, where: str) -> "InputError":
        """Return a copy with ``where`` prefixed (outer context first)."""
        inner = f"{where}: {self.where}" if self.where else where
        return InputError(self.message, inner)


class Unsupported(ArtsError):
    """Something we cannot model exactly; the verdict becomes ``unknown`` with this reason."""


class BudgetExceeded(Unsupported):
    """Solver work went past its bound; the verdict becomes ``unknown``."""
