"""The incident's peaks over its standby samples, kept as samples are journaled (issue 17).

The close-out states the largest replay delay and the most bytes not replayed that any standby
showed. Over an all-night incident that is tens of thousands of samples; rather than read them all
at close, the journal keeps the sample that holds each peak in its ``meta`` table (key ``peaks``),
updated in the same transaction as the sample that beats it. The rule of what a replay delay is
stays :attr:`NodeSample.replay_delay_s` (nothing when caught up).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from checks.observe.sample import NodeSample

META_KEY = "peaks"
_MEASURES = {"replay_delay_s": lambda s: s.replay_delay_s, "bytes_not_replayed": lambda s: s.bytes_not_replayed}


def _value(sample: NodeSample, measure: str) -> float | None:
    """The measure of a standby sample (None when unmeasured: the close-out counts it as 0, as any)."""
    return _MEASURES[measure](sample) if sample.in_recovery is True else None


def raised(peaks: dict[str, NodeSample], sample: NodeSample) -> dict[str, NodeSample] | None:
    """The peaks with ``sample`` counted, or None when it beats none of them."""
    better = {}
    for measure in _MEASURES:
        value = _value(sample, measure)
        held = peaks.get(measure)
        if sample.in_recovery is True and (held is None or (value or 0) > (_value(held, measure) or 0)):
            better[measure] = sample
    return {**peaks, **better} if better else None


def of_samples(samples: Iterable[NodeSample]) -> dict[str, NodeSample]:
    """The peaks of these samples (a journal written before peaks were kept is read this way)."""
    peaks: dict[str, NodeSample] = {}
    for sample in samples:
        peaks = raised(peaks, sample) or peaks
    return peaks


def dumps(peaks: dict[str, NodeSample]) -> str:
    return json.dumps({m: s.model_dump(mode="json") for m, s in peaks.items()}, sort_keys=True)


def loads(text: str) -> dict[str, NodeSample]:
    return {m: NodeSample.model_validate(d) for m, d in json.loads(text).items() if m in _MEASURES}
