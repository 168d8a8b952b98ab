"""`python -m pmc_hub.cli ...`, the same as the `pmc-hub` script."""
import sys

from . import main

sys.exit(main())
