"""`python -m benchmarks.counted [function options]`: the function served as `python -m function`
serves it, counting its memo's hits and misses (a request answered from the memo, or computed).

On SIGUSR1 it writes its counts to `$COUNTS_DIR/<pid>.json`. The count is one dict update a
call; the scale benchmark reads it per phase."""

import json
import os
import pathlib
import signal

from function import fn
from function.main import main

COUNTS = {"memo_hits": 0, "computed": 0}


def _counted_get(get):
    def counted(key: bytes):
        found = get(key)
        COUNTS["memo_hits" if found is not None else "computed"] += 1
        return found

    return counted


def _write(*_: object) -> None:
    out = pathlib.Path(os.environ["COUNTS_DIR"]) / f"{os.getpid()}.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(COUNTS))
    tmp.replace(out)


if __name__ == "__main__":
    fn.MEMO.get = _counted_get(fn.MEMO.get)  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR1, _write)
    main()
