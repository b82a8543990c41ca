"""Entry point for `python -m lenet`."""

import sys

from lenet.cli import main

sys.exit(main())
