"""`python -m pytest_wasmconc.instrument GUEST.wasm [-o OUT.wasm] [--level L]`.

Shows what the instrumenter would do to a guest (its sites and added
imports), and optionally writes the instrumented module, e.g. to inspect it
with `wasm-tools print`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import InstrumentError, InstrumentLevel, instrument


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_wasmconc.instrument")
    parser.add_argument("wasm", type=Path)
    parser.add_argument("-o", "--output", type=Path, help="write the instrumented module here")
    parser.add_argument(
        "--level",
        choices=[lv.value for lv in InstrumentLevel],
        default=InstrumentLevel.ATOMICS.value,
    )
    args = parser.parse_args(argv)
    try:
        result = instrument(args.wasm.read_bytes(), InstrumentLevel(args.level))
    except InstrumentError as e:
        print(f"{args.wasm}: {e}", file=sys.stderr)
        return 1
    for site in result.sites:
        where = site.func_name or f"func[{site.func_index}]"
        print(f"site {site.index:5d}  {site.kind:8s}  0x{site.offset:08x}  {where}")
    for local in result.frame_local:
        where = local.func_name or f"func[{local.func_index}]"
        print(f"no point   {local.kind:8s}  0x{local.offset:08x}  {where} (its own stack frame)")
    added = ", ".join(f"{m}.{n}" for m, n in result.imports_added) or "none"
    print(f"{len(result.sites)} sites; {len(result.frame_local)} frame-local atomics without a point; "
          f"imports added: {added}")
    if args.output is not None:
        args.output.write_bytes(result.wasm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
