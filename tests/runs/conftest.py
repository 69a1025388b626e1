from __future__ import annotations

from tests.train.conftest import TOY_MODEL, toy_data  # noqa: F401  (shared toy run fixtures)
