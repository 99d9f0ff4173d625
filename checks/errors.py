"""The one root of the domain's exceptions.

Every error the domain raises for a person to read is a :class:`CockpitError` whose message is
that sentence (which file, key or node, and what to do), so the command line and the cockpit
catch one class at their edge and never show a traceback. Each layer subclasses it where the
error is born: ``ConfigError``, ``JournalError``, ``SeatError``, ``GateRefused``, ...
"""


class CockpitError(Exception):
    """A failure or refusal whose message is the sentence to show."""


def error_line(exc: BaseException) -> str:
    """The first line of an exception's message, to end a sentence ("cannot read X: <this>"); an
    exception without one (a bare ``ConnectionResetError()``, a timeout) said by what it is, never
    an empty string or an ``IndexError`` of its own; an OSError by its ``strerror`` and file (no errno), a
    KeyError by its key (not the key's repr). Callers redact what may hold a DSN."""
    if isinstance(exc, OSError) and exc.strerror:   # the system's words, not "[Errno 2] ...: '/x'"
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    if isinstance(exc, KeyError) and exc.args:
        return f"the key {exc.args[0]} is missing"     # str() of a KeyError is the key's repr
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    for kind, words in _WITHOUT_MESSAGE:
        if isinstance(exc, kind):
            return words
    return f"an error with no message ({type(exc).__name__})"


_WITHOUT_MESSAGE: tuple[tuple[type[BaseException], str], ...] = (
    (TimeoutError, "timed out"),
    (ConnectionRefusedError, "the connection was refused"),
    (ConnectionError, "the connection was lost"),
    (EOFError, "the connection closed before an answer"),
    (KeyError, "a required key is missing"),
)
