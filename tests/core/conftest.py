"""Lets the core tests import their object builders (`core_factories`) under --import-mode=importlib."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
