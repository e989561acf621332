"""The tests; ``tests.support`` holds what they share, ``conftest.py`` files only fixtures."""

import pytest

# The shared helpers assert like tests do, so a failing one says what it saw.
pytest.register_assert_rewrite("tests.support")
