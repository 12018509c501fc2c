"""How long a test waits before it calls a thing hung.

Tests wait for states they can observe (a line a process prints, a job's end, a page's run). These limits only stop a
test that would otherwise wait forever on a bug, so they are far beyond what the slowest machine needs: a full suite
pinned to one busy core must never meet them.
"""

import os

# seconds: a subprocess, a job, an AppTest script run. WINNOW_TEST_HANG_S lowers it to see where a broken test hangs.
HANG_S = int(os.environ.get("WINNOW_TEST_HANG_S", "900"))
HANG_MS = HANG_S * 1000  # the same for Playwright's waits, in milliseconds
