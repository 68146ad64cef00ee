"""``python -m ltot ...``: the same program as the ``ltot`` script."""

import sys

from ltot.cli import run

if __name__ == "__main__":
  sys.exit(run())
