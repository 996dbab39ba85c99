"""`mmconform selftest`: run the suite against the clean reference server and against one server
per seeded fault, and prove that every fault is caught by the requirements it declares.

A conformance suite that passes everything proves nothing; this is the evidence that it does not.
"""

from mmconform.selftest.judge import Kill, Outcome, SelftestReport, judge
from mmconform.selftest.plan import load_faults

__all__ = ["Kill", "Outcome", "SelftestReport", "judge", "load_faults"]
