"""``python -m descend``: the command line (:func:`descend.cli.main`)."""

import sys

from .cli import main

sys.exit(main())
