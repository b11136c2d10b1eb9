"""Traps and errors a call future finished with, copied out of native memory with their wasm frames."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wasmtime import _ffi as ffi

__all__ = ["Frame", "NativeFailure", "take_error", "take_trap", "trap_frames"]

@dataclass(frozen=True)
class Frame:
    """One wasm frame of a backtrace, as Wasmtime reports it: the index and byte offset are those
    of the module Wasmtime runs (the rewritten one). Reports print `Program.frame_text` of it,
    which gives the offset of the user's file and its source line; `str()` is the raw form."""

    func_index: int
    func_name: str | None
    module_offset: int

    def __str__(self) -> str:
        name = self.func_name or f"<func {self.func_index}>"
        return f"{name} (@{self.module_offset:#x})"


def _frames_from_vec(vec: Any) -> list[Frame]:
    frames = []
    for i in range(vec.size):
        fp = vec.data[i]
        idx = ffi.wasm_frame_func_index(fp)
        name_ptr = ffi.wasmtime_frame_func_name(fp)
        name = ctypes.string_at(name_ptr.contents.data, name_ptr.contents.size).decode(
            "utf-8", "replace"
        ) if name_ptr else None
        frames.append(Frame(idx, name, ffi.wasm_frame_module_offset(fp)))
    return frames


def _frames(tracer: Callable[[Any, Any], None], ptr: Any) -> list[Frame]:
    """The wasm backtrace `tracer` (wasm_trap_trace, wasmtime_error_wasm_trace) copies out of `ptr`."""
    vec = ffi.wasm_frame_vec_t()
    tracer(ptr, ctypes.byref(vec))
    try:
        return _frames_from_vec(vec)
    finally:
        ffi.wasm_frame_vec_delete(ctypes.byref(vec))


def trap_frames(trap_ptr: Any) -> list[Frame]:
    return _frames(ffi.wasm_trap_trace, trap_ptr)


def _message(getter: Callable[[Any, Any], None], ptr: Any) -> str:
    out = ffi.wasm_byte_vec_t()
    getter(ptr, ctypes.byref(out))
    try:
        return ctypes.string_at(out.data, out.size).decode("utf-8", "replace")
    finally:
        ffi.wasm_byte_vec_delete(ctypes.byref(out))


@dataclass
class NativeFailure:
    """A trap or error a future finished with, copied out of native memory."""

    message: str
    frames: list[Frame]
    trap_code: int | None
    exit_status: int | None  # wasmtime's own WASI proc_exit


def take_trap(trap_ptr: Any) -> NativeFailure:
    try:
        msg = _message(ffi.wasm_trap_message, trap_ptr)
        code = ctypes.c_uint8()
        has_code = ffi.wasmtime_trap_code(trap_ptr, ctypes.byref(code))
        return NativeFailure(msg.rstrip("\0"), trap_frames(trap_ptr), code.value if has_code else None, None)
    finally:
        ffi.wasm_trap_delete(trap_ptr)


def take_error(err_ptr: Any) -> NativeFailure:
    try:
        msg = _message(ffi.wasmtime_error_message, err_ptr)
        status = ctypes.c_int()
        exit_status = status.value if ffi.wasmtime_error_exit_status(err_ptr, ctypes.byref(status)) else None
        return NativeFailure(msg, _frames(ffi.wasmtime_error_wasm_trace, err_ptr), None, exit_status)
    finally:
        ffi.wasmtime_error_delete(err_ptr)
