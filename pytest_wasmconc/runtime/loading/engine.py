"""Engines built from `EngineSettings`, one per settings per process."""

from __future__ import annotations

import threading

import wasmtime

from ..wasmtime import capi, traphandlers
from ..settings import EngineSettings
from ..version import wasmtime_version

__all__ = ["build_config", "engine_for", "wasmtime_version"]

_engines: dict[EngineSettings, wasmtime.Engine] = {}
_lock = threading.Lock()


def build_config(settings: EngineSettings) -> wasmtime.Config:
    cfg = wasmtime.Config()
    cfg.wasm_threads = settings.threads
    cfg.shared_memory = settings.threads
    cfg.consume_fuel = settings.fuel
    cfg.epoch_interruption = settings.epochs
    cfg.wasm_simd = settings.simd
    cfg.wasm_bulk_memory = settings.bulk_memory
    cfg.wasm_multi_memory = settings.multi_memory
    cfg.wasm_memory64 = settings.memory64
    cfg.wasm_tail_call = settings.tail_call
    cfg.wasm_reference_types = settings.reference_types
    if hasattr(cfg, "wasm_exceptions"):
        cfg.wasm_exceptions = settings.exceptions
    capi.set_async_stack_size(cfg, settings.async_stack_size)
    return cfg


def engine_for(settings: EngineSettings) -> wasmtime.Engine:
    """The process's engine for these settings (engines are thread-safe and reusable)."""
    with _lock:
        eng = _engines.get(settings)
        if eng is None:
            eng = wasmtime.Engine(build_config(settings))
            _engines[settings] = eng
            traphandlers.remember()  # the first engine installed Wasmtime's trap handlers
        return eng
