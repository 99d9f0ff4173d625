"""Before stage 0, Evaluate: fail over or not yet, journaled with the signals and each standby's freshness.

The runbook's first decision (:mod:`checks.incident.evaluation`). The standbys are sampled
afresh (the runbook's "always measure replication lag first"), so the decision carries what they
held when it was made; the signals are the caller's: the cockpit's board, or the one round
``drill`` saw. Evaluating again is allowed until a promotion was sent: after it, "not yet" could
not undo anything and is refused with a sentence.
"""

from __future__ import annotations

from typing import Any, Iterable

from checks.config.text import clean_text  # person text is made safe once, where it enters
from checks.incident.evaluation import (
    DECISIONS, WORDS, evaluation_data, evaluation_sentence, signalled_primary, standby_freshness
)
from checks.runbook.operation import Operation


async def evaluate_failover(op: Operation, decision: str, signals: Iterable[dict[str, Any]], reason: str = "") -> str:
    """Journal the evaluation; returns the sentence journaled."""
    reason = clean_text(reason, "the evaluation's reason")
    if decision not in DECISIONS:
        raise op.refuse("evaluate", f"evaluate refused: the decision is {' or '.join(WORDS.values())}, not "
                        f"'{decision}'", 0)
    state = op.require(0, "evaluate")
    if state.stage(3).status == "passed" or op.promoted_here():
        raise op.refuse("evaluate", "evaluate refused: a promotion was already sent in this incident, so the decision "
                        "to fail over was acted on; roll back (key b) if the failover must be undone", 0)
    signals = list(signals)
    view = await op.refresh()
    data = evaluation_data(decision, signals, standby_freshness(view, signalled_primary(signals)), reason)
    return op.log("decision", evaluation_sentence(decision, op.author, data), stage=0,
                  data={**data, "proposed_by": op.author}).text
