"""``python -m descend``: the command line (:func:`descend.shells.cli.main`)."""

import sys

from descend.shells.cli import main

sys.exit(main())
