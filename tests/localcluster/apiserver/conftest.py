from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import WIDGET_CRD, ServerThread


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One in-memory API server per test module, with the Widget CRD applied."""
    st = ServerThread(Path(tmp_path_factory.mktemp("apiserver")))
    st.start()
    st.kubectl("apply", "-f", "-", input=WIDGET_CRD)
    try:
        yield st
    finally:
        st.close()
