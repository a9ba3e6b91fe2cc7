"""`python -m sigvae ...` runs the CLI (useful from a source checkout with PYTHONPATH=src)."""

import sys

from .cli import main

sys.exit(main())
