"""Golden files: whole renders compared byte for byte. `UPDATE_GOLDEN=1 pytest` rewrites them."""

import os

from tests.support import ROOT

GOLDEN = ROOT / "tests" / "golden"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(), f"{path} differs; if the change is intended, run with UPDATE_GOLDEN=1"
