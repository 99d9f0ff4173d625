"""The one root of the domain's exceptions.

Every error the domain raises for a person to read is a :class:`CockpitError` whose message is
that sentence (which file, key or node, and what to do), so the command line and the cockpit
catch one class at their edge and never show a traceback. Each layer subclasses it where the
error is born: ``ConfigError``, ``JournalError``, ``SeatError``, ``GateRefused``, ...
"""


class CockpitError(Exception):
    """A failure or refusal whose message is the sentence to show."""
