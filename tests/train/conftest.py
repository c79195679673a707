import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # the shared tiny recipe: `import tiny`


@pytest.fixture(autouse=True)
def _restore_determinism_flag():
    # The trainer turns on torch's deterministic algorithms on CPU; other test files must not inherit that.
    before = torch.get_deterministic_debug_mode()
    yield
    torch.set_deterministic_debug_mode(before)
