"""``python -m netopt`` is the ``netopt`` command."""

import sys

from netopt.cli import main

sys.exit(main())
