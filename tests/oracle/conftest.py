"""Oracle tests run on the real third-party data in ../shared/data; they skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real market data not found at {SHARED_DATA}: the oracle tests need ../shared/data "
            "beside the checkout (present in CI, absent from a plain clone)"
        )
    return SHARED_DATA
