"""Bounds-checked views of guest linear memory for host functions."""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime

from ..hostapi import MemoryFault

__all__ = ["InstanceGuestMemory", "SharedGuestMemory", "VirtualGuestMemory"]

_U16 = ctypes.c_uint16
_U32 = ctypes.c_uint32
_U64 = ctypes.c_uint64


class _RawMemory:
    """Accessors over (base address, size); subclasses say how to find them."""

    def _base_and_size(self) -> tuple[int, int]:
        raise NotImplementedError

    def _addr(self, ptr: int, length: int) -> int:
        base, size = self._base_and_size()
        if ptr < 0 or length < 0 or ptr + length > size:
            raise MemoryFault(f"guest memory access [{ptr:#x}, +{length}) out of bounds (size {size:#x})")
        return base + ptr

    def size(self) -> int:
        return self._base_and_size()[1]

    def in_bounds(self, ptr: int, length: int) -> bool:
        """Whether [ptr, ptr + length) lies inside the memory."""
        return 0 <= ptr and 0 <= length and ptr + length <= self.size()

    def read(self, ptr: int, length: int) -> bytes:
        if length == 0:
            self._addr(ptr, 0)
            return b""
        return ctypes.string_at(self._addr(ptr, length), length)

    def write(self, ptr: int, data: bytes) -> None:
        n = len(data)
        addr = self._addr(ptr, n)
        if n:
            ctypes.memmove(addr, bytes(data), n)

    def load_u8(self, ptr: int) -> int:
        return ctypes.c_uint8.from_address(self._addr(ptr, 1)).value

    def load_u16(self, ptr: int) -> int:
        return _U16.from_address(self._addr(ptr, 2)).value

    def load_u32(self, ptr: int) -> int:
        return _U32.from_address(self._addr(ptr, 4)).value

    def load_u64(self, ptr: int) -> int:
        return _U64.from_address(self._addr(ptr, 8)).value

    def store_u8(self, ptr: int, value: int) -> None:
        ctypes.c_uint8.from_address(self._addr(ptr, 1)).value = value & 0xFF

    def store_u16(self, ptr: int, value: int) -> None:
        _U16.from_address(self._addr(ptr, 2)).value = value & 0xFFFF

    def store_u32(self, ptr: int, value: int) -> None:
        _U32.from_address(self._addr(ptr, 4)).value = value & 0xFFFF_FFFF

    def store_u64(self, ptr: int, value: int) -> None:
        _U64.from_address(self._addr(ptr, 8)).value = value & 0xFFFF_FFFF_FFFF_FFFF


class SharedGuestMemory(_RawMemory):
    """A shared memory: its base never moves, its size may grow."""

    shared = True

    def __init__(self, memory: wasmtime.SharedMemory) -> None:
        self._memory = memory
        self._base = ctypes.cast(memory.data_ptr(), ctypes.c_void_p).value or 0
        # A shared memory never shrinks: an access inside the size seen last is
        # inside the current one, so only an access beyond it asks Wasmtime.
        self._known_size = memory.data_len()

    def _base_and_size(self) -> tuple[int, int]:
        self._known_size = self._memory.data_len()
        return self._base, self._known_size

    def native_view(self) -> tuple[int, int, int]:
        """(base address, size, wasmtime_sharedmemory_t address), for the native futex."""
        handle = ctypes.cast(self._memory.ptr(), ctypes.c_void_p).value or 0
        return self._base, self._known_size, handle

    def _addr(self, ptr: int, length: int) -> int:
        if 0 <= ptr and 0 <= length and ptr + length <= self._known_size:
            return self._base + ptr
        return super()._addr(ptr, length)

    def in_bounds(self, ptr: int, length: int) -> bool:
        if 0 <= ptr and 0 <= length and ptr + length <= self._known_size:
            return True
        return super().in_bounds(ptr, length)


class VirtualGuestMemory(SharedGuestMemory):
    """A shared memory whose size, as the guest sees it, is its execution's virtual size
    (instrument/vmem.py, _lane_c/vmem.c): host calls see the memory a fresh one of that size is,
    whatever the real memory grew to in earlier executions. It too only grows within an execution."""

    def __init__(self, memory: wasmtime.SharedMemory, native: Any) -> None:
        self._native = native
        super().__init__(memory)
        self._known_size = native.vmem_pages << 16

    def _base_and_size(self) -> tuple[int, int]:
        self._known_size = self._native.vmem_pages << 16
        return self._base, self._known_size


class InstanceGuestMemory(_RawMemory):
    """A memory owned by one instance: it may move when it grows, so look it up per access."""

    shared = False

    def __init__(self, store: wasmtime.Store, memory: Any) -> None:
        self._store = store
        self._memory = memory

    def _base_and_size(self) -> tuple[int, int]:
        base = ctypes.cast(self._memory.data_ptr(self._store), ctypes.c_void_p).value or 0
        return base, self._memory.data_len(self._store)


class NoMemory(_RawMemory):
    """For guests without an accessible memory: every access faults."""

    shared = False

    def _base_and_size(self) -> tuple[int, int]:
        return 0, 0
