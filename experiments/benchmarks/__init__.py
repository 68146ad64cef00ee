"""Benchmarks (``python -m experiments.benchmarks.NAME``; rows in experiments/results/benchmarks.md).

Every benchmark process keeps freed host memory as ``ltot``'s command line does
(``ltot.train.keep_freed_host_memory``), for ltot and for the peers it times beside it;
``host_memory`` measures what that changes, in child processes with and without it.
"""

from ltot.train.host import keep_freed_host_memory

keep_freed_host_memory()
