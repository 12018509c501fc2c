"""``python -m core`` runs the headless CLI."""

import sys

from core.cli import main
from core.settings import keep_new_files_private

keep_new_files_private()
sys.exit(main())
