"""``python -m ltot ...``: the same program as the ``ltot`` script."""

import sys

from ltot.cli import run

sys.exit(run())
