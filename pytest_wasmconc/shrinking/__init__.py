"""Schedule shrinking: a failing schedule retold with the fewest preemptions that fail the same way.

`shrink_failure` (shrink.py) is what the front ends call after an exploration's first failure;
`classes` says what "the same way" means, `search` is the search (no wasm), `policy` the candidate
schedules, `interleaving` the context switches a report prints.
"""

from .classes import OutcomeClass, outcome_class
from .shrink import Shrunk, shrink_failure

__all__ = ["OutcomeClass", "Shrunk", "outcome_class", "shrink_failure"]
