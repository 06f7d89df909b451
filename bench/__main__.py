"""``python -m bench [--only engine,avro] [flags...]``: every bench/bench_*.py module's main().

Flags after the ones below (``--rows N``, ``--repeat N``...) go to every module; a module's
main should take the shared ones and ignore the rest (argparse ``parse_known_args``). One
failing module does not stop the others; the exit code says whether any failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path


def modules() -> list[str]:
    return sorted(p.stem for p in Path(__file__).resolve().parent.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--only", default="", help="comma-separated topics (engine, avro...) to run")
    p.add_argument("--list", action="store_true", help="list the benchmark modules and exit")
    args, rest = p.parse_known_args(argv)
    names = modules()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        wanted = {w if w.startswith("bench_") else f"bench_{w}" for w in args.only.split(",")}
        unknown = wanted - set(names)
        if unknown:
            p.error(f"--only: no such benchmark {sorted(unknown)}; known: {names}")
        names = [n for n in names if n in wanted]

    from bench import session

    session()  # one warm session for all of them
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        try:
            importlib.import_module(f"bench.{name}").main(list(rest))
        except SystemExit as e:
            if e.code not in (0, None):
                failed.append(name)
        except Exception:  # noqa: BLE001 - report and go on with the next benchmark
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
