"""Build SCTBench's C benchmarks against real wasi-libc and hunt their bugs with `scripts/bug_hunt.py`.

    python scripts/sctbench.py SCTBENCH_DIR [--out DIR] [--configs LIST] [--seeds S] [--schedules N]
                               [--jobs J] [--json FILE] [--markdown]

SCTBENCH_DIR is a clone of https://github.com/mc-imperial/sctbench, a checkout or a bare git
directory (Thomson, Donaldson and Betts,
"Concurrency Testing Using Controlled Schedulers", TOPC 2016). Nothing of it is committed here:
the programs are compiled at run time from that clone. The script takes the small C programs of
`benchmarks/concurrent-software-benchmarks` (account, reorder_N, twostage, wronglock, token_ring,
...): each `*_bad.c` has a known bug that makes it trap (an `assert`) or deadlock under some
interleaving, each `*_ok.c` has none. The bad ones are hunted like the race guests (`bug_hunt.py`:
seeds 1..S, up to N schedules each, the median number of schedules to the first failure); every
`*_ok.c` then runs N schedules per configuration and must never fail.

Compiler: `../shared/toolchain/cc-threads` (or $CC_THREADS), clang-19 for wasm32-wasip1-threads
with the real wasi-libc. Programs that do not build for wasi-libc (preprocessed glibc sources,
`pthread_exit`, which this libc lacks, is mapped to a return) are listed and skipped.

Exit status: bug_hunt.py's, or 2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = Path("benchmarks") / "concurrent-software-benchmarks"
DEFAULT_CC = ROOT.parent / "shared" / "toolchain" / "cc-threads"
CFLAGS = ["-O1", "-w"]
# Some programs call pthread_exit(NULL) as their threads' last statement; wasi-libc's
# wasm32-wasip1-threads has no pthread_exit, and a return is the same thing there.
NO_PTHREAD_EXIT = ["-Dpthread_exit(x)=return x"]


def build(suite: Path, out: Path, cc: str) -> tuple[list[Path], list[Path], list[str]]:
    """Compile every program of the suite into `out`: (bad wasm, ok wasm, skipped with why)."""
    out.mkdir(parents=True, exist_ok=True)
    bad, ok, skipped = [], [], []
    for source in sorted(suite.glob("*.c")):
        target = out / (source.stem + ".wasm")
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            # As is first: some sources are preprocessed glibc code, which declares pthread_exit.
            done = subprocess.run([cc, *CFLAGS, f"-I{suite}", str(source), "-o", str(target)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                done = subprocess.run([cc, *CFLAGS, *NO_PTHREAD_EXIT, f"-I{suite}", str(source), "-o", str(target)],
                                      capture_output=True, text=True)
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["no message"])[0]
                skipped.append(f"{source.name}: {first}")
                continue
        if source.stem.endswith("_bad") or source.stem.endswith("_sat") and "unsat" not in source.stem:
            bad.append(target)
        else:
            ok.append(target)
    return bad, ok, skipped


def _export(git_dir: Path, dest: Path) -> Path:
    """The suite's folder of a bare git directory, written out under `dest` (the clone is only read)."""
    dest.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "--name-only", "HEAD", f"{SUITE}/"],
                            capture_output=True, text=True)
    for name in listed.stdout.split():
        if name.endswith((".c", ".inc")):
            blob = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{name}"], capture_output=True)
            (dest / Path(name).name).write_bytes(blob.stdout)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sctbench", type=Path, help="a clone of github.com/mc-imperial/sctbench")
    parser.add_argument("--out", type=Path, default=Path("build") / "sctbench", help="where the .wasm files go")
    parser.add_argument("--configs", default="default", help="bug_hunt.py configurations (';'-separated)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", action="store_true")
    ns = parser.parse_args(argv)
    suite = ns.sctbench / SUITE
    if not suite.is_dir() and (ns.sctbench / "HEAD").is_file():
        suite = _export(ns.sctbench, ns.out / "src")
    if not suite.is_dir():
        print(f"sctbench.py: error: {suite} is not a directory (give a clone of mc-imperial/sctbench)",
              file=sys.stderr)
        return 2
    cc = os.environ.get("CC_THREADS", str(DEFAULT_CC))
    if not Path(cc).exists():
        print(f"sctbench.py: error: no compiler at {cc} (set CC_THREADS)", file=sys.stderr)
        return 2
    bad, ok, skipped = build(suite, ns.out, cc)
    for line in skipped:
        print(f"skipped {line}")
    if not bad:
        print("sctbench.py: error: no buggy program built", file=sys.stderr)
        return 2
    hunt = [sys.executable, str(ROOT / "scripts" / "bug_hunt.py"), *map(str, bad), "--configs", ns.configs,
            "--seeds", str(ns.seeds), "--schedules", str(ns.schedules), "--jobs", str(ns.jobs),
            ]
    if ns.json:
        hunt += ["--json", str(ns.json)]
    if ns.markdown:
        hunt.append("--markdown")
    code = subprocess.run(hunt).returncode
    clean = [sys.executable, str(ROOT / "scripts" / "bug_hunt.py"), *map(str, ok), "--configs", ns.configs,
             "--seeds", "1", "--schedules", str(ns.schedules), "--jobs", str(ns.jobs)]
    if ns.markdown:
        clean.append("--markdown")
    print(f"correct programs ({len(ok)}), {ns.schedules} schedules each: a failure here is a false alarm")
    clean_code = subprocess.run(clean).returncode
    return code or clean_code


if __name__ == "__main__":
    sys.exit(main())
