from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.events._helpers import jsonl


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def _write(content: bytes | str | list[Any], name: str | None = None) -> Path:
        path = tmp_path / (name or f"events_{next(counter)}.jsonl")
        if isinstance(content, list):
            content = jsonl(content)
        if isinstance(content, str):
            content = content.encode()
        if path.suffix == ".gz":
            content = gzip.compress(content)
        path.write_bytes(content)
        return path

    return _write
