"""The immediate layout of every instruction the decoder understands.

One table entry per opcode says what follows the opcode byte(s), so the
decoder can step over any instruction exactly instead of guessing. Covered:
MVP, sign-extension, saturating conversions, bulk memory, reference types,
multi-value, SIMD and relaxed SIMD (0xFD), threads (0xFE), tail calls,
exceptions (try_table/throw/throw_ref and the legacy try/catch/delegate),
typed function references, GC (0xFB), multi-memory, memory64,
extended-const, wide arithmetic and stack switching (0xE0-0xE5).

An opcode is keyed as an int: the byte itself, or `prefix << 16 | sub` for
the prefixed families (e.g. 0xFE0001 is memory.atomic.wait32).
"""

from __future__ import annotations

__all__ = [
    "ATOMIC_FENCE",
    "ATOMIC_NOTIFY",
    "ATOMIC_WAIT32",
    "ATOMIC_WAIT64",
    "BLOCK",
    "BLOCK_START",
    "BR_ON_CAST",
    "BR_TABLE",
    "BYTE",
    "CALL",
    "DELEGATE",
    "ELSE",
    "END",
    "F32",
    "F64",
    "FUNC_INDEX_OPS",
    "HEAPTYPE",
    "I32",
    "I32_CONST",
    "I64",
    "I64_CONST",
    "LANE",
    "LOOP",
    "MEMARG",
    "MEMARG_LANE",
    "NONE",
    "PREFIXED",
    "PREFIXES",
    "REF_FUNC",
    "RESUME",
    "RESUME_THROW",
    "RETURN",
    "RETURN_CALL",
    "RETURN_CALL_INDIRECT",
    "RETURN_CALL_REF",
    "SELECT_T",
    "SINGLE",
    "TRY_TABLE",
    "U32",
    "U32_U32",
    "V128",
    "atomic_kind",
    "key",
]

# Immediate layouts.
NONE = 0  # nothing
U32 = 1  # one u32 index/count
U32_U32 = 2  # two u32s
BLOCK = 3  # blocktype (s33, or a ref type)
BR_TABLE = 4  # vec(label) label
SELECT_T = 5  # vec(valtype)
MEMARG = 6  # align-flags [memidx] offset
MEMARG_LANE = 7  # memarg, lane byte
I32 = 8  # s32
I64 = 9  # s64
F32 = 10  # 4 raw bytes
F64 = 11  # 8 raw bytes
V128 = 12  # 16 raw bytes (v128.const, i8x16.shuffle)
LANE = 13  # one lane byte
HEAPTYPE = 14  # heap type
BR_ON_CAST = 15  # cast flags byte, label, heap type, heap type
TRY_TABLE = 16  # blocktype vec(catch clause)
BYTE = 17  # one reserved byte (atomic.fence)
RESUME = 18  # typeidx, vec(handler)
RESUME_THROW = 19  # typeidx, tagidx, vec(handler)


def key(prefix: int, sub: int) -> int:
    return prefix << 16 | sub


PREFIXES = (0xFB, 0xFC, 0xFD, 0xFE)


def _single() -> list[int]:
    # -1: no such opcode (or a prefix byte, handled separately).
    t = [-1] * 256
    for op in (0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, 0xD1, 0xD3, 0xD4):
        t[op] = NONE
    for op in (0x02, 0x03, 0x04, 0x06):  # block loop if try(legacy)
        t[op] = BLOCK
    # catch(legacy) throw rethrow(legacy) br br_if call return_call call_ref
    # return_call_ref delegate(legacy) ref.func br_on_null br_on_non_null
    # cont.new suspend
    for op in (
        0x07,
        0x08,
        0x09,
        0x0C,
        0x0D,
        0x10,
        0x12,
        0x14,
        0x15,
        0x18,
        0xD2,
        0xD5,
        0xD6,
        0xE0,
        0xE2,
    ):
        t[op] = U32
    for op in (0x11, 0x13, 0xE1, 0xE5):  # call_indirect return_call_indirect cont.bind switch
        t[op] = U32_U32
    t[0x0E] = BR_TABLE
    t[0x1C] = SELECT_T
    t[0x1F] = TRY_TABLE
    for op in range(0x20, 0x27):  # local.* global.* table.get table.set
        t[op] = U32
    for op in range(0x28, 0x3F):  # loads and stores
        t[op] = MEMARG
    t[0x3F] = U32  # memory.size memidx (a plain 0x00 byte before multi-memory)
    t[0x40] = U32  # memory.grow memidx
    t[0x41] = I32
    t[0x42] = I64
    t[0x43] = F32
    t[0x44] = F64
    for op in range(0x45, 0xC5):  # numeric, conversions, sign-extension
        t[op] = NONE
    t[0xD0] = HEAPTYPE  # ref.null
    t[0xE3] = RESUME
    t[0xE4] = RESUME_THROW
    return t


SINGLE: list[int] = _single()


def _prefixed() -> dict[int, int]:
    t: dict[int, int] = {}

    def put(prefix: int, subs: range | tuple[int, ...], kind: int) -> None:
        for sub in subs:
            t[key(prefix, sub)] = kind

    # 0xFB: GC.
    put(0xFB, (0x00, 0x01, 0x06, 0x07, 0x0B, 0x0C, 0x0D, 0x0E, 0x10), U32)
    put(0xFB, (0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0A, 0x11, 0x12, 0x13), U32_U32)
    put(0xFB, (0x0F, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E), NONE)
    put(0xFB, range(0x14, 0x18), HEAPTYPE)  # ref.test / ref.cast (non-null, nullable)
    put(0xFB, (0x18, 0x19), BR_ON_CAST)
    # 0xFC: saturating truncation, bulk memory, tables, wide arithmetic.
    put(0xFC, range(0x08), NONE)
    put(0xFC, (0x08, 0x0A, 0x0C, 0x0E), U32_U32)  # memory.init/copy table.init/copy
    put(0xFC, (0x09, 0x0B, 0x0D, 0x0F, 0x10, 0x11, 0x12), U32)
    put(0xFC, range(0x13, 0x17), NONE)  # i64.add128 sub128 mul_wide_s/u
    # 0xFD: SIMD and relaxed SIMD. Opcodes absent from the SIMD spec (gaps in
    # 0x5E-0xFF) are given no immediates: validation rejects them anyway, and
    # treating them as known cannot misalign decoding of a valid module.
    put(0xFD, range(0x0C), MEMARG)
    put(0xFD, (0x0C, 0x0D), V128)
    put(0xFD, range(0x0E, 0x15), NONE)
    put(0xFD, range(0x15, 0x23), LANE)
    put(0xFD, range(0x23, 0x54), NONE)
    put(0xFD, range(0x54, 0x5C), MEMARG_LANE)
    put(0xFD, (0x5C, 0x5D), MEMARG)
    put(0xFD, range(0x5E, 0x100), NONE)
    put(0xFD, range(0x100, 0x114), NONE)
    # 0xFE: threads.
    put(0xFE, (0x00, 0x01, 0x02), MEMARG)
    put(0xFE, (0x03,), BYTE)
    put(0xFE, range(0x10, 0x4F), MEMARG)
    return t


PREFIXED: dict[int, int] = _prefixed()

# Opcodes the rewriting machinery cares about.
BLOCK_START = frozenset((0x02, 0x03, 0x04, 0x06, 0x1F))
LOOP = 0x03
ELSE = 0x05
END = 0x0B
DELEGATE = 0x18  # ends a legacy try block like `end` does
RETURN = 0x0F
CALL = 0x10
RETURN_CALL = 0x12
RETURN_CALL_INDIRECT = 0x13
RETURN_CALL_REF = 0x15
REF_FUNC = 0xD2
I32_CONST = 0x41
I64_CONST = 0x42
# Instructions whose first immediate is a function index.
FUNC_INDEX_OPS = frozenset((CALL, RETURN_CALL, REF_FUNC))

ATOMIC_NOTIFY = key(0xFE, 0x00)
ATOMIC_WAIT32 = key(0xFE, 0x01)
ATOMIC_WAIT64 = key(0xFE, 0x02)
ATOMIC_FENCE = key(0xFE, 0x03)


def atomic_kind(op: int) -> str | None:
    """Classify a threads-proposal opcode as a site kind, or None."""
    if op >> 16 != 0xFE:
        return None
    sub = op & 0xFFFF
    if sub == 0x00:
        return "notify"
    if sub == 0x01:
        return "wait32"
    if sub == 0x02:
        return "wait64"
    if 0x10 <= sub <= 0x16:
        return "load"
    if 0x17 <= sub <= 0x1D:
        return "store"
    if 0x1E <= sub <= 0x47:
        return "rmw"
    if 0x48 <= sub <= 0x4E:
        return "cmpxchg"
    return None  # atomic.fence: no memory location, nothing to interleave at
