"""Run every ``benchmarks/bench_*.py`` module's ``run()`` and print its lines.

``python -m benchmarks [NAME ...]`` runs only the named ones (``parse``, ``tone``…).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback

import benchmarks


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    failed = 0
    for name in names:
        short = name.removeprefix("bench_")
        if wanted and short not in wanted:
            continue
        print(f"== {short}", flush=True)
        started = time.perf_counter()
        try:
            for line in importlib.import_module(f"benchmarks.{name}").run():
                print(f"   {line}", flush=True)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed += 1
            traceback.print_exc()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
