"""What the race check knows of libc: the functions whose plain accesses synchronize, and the default suppressions.

Both lists name functions by a Python regex matched against the whole
name-section name (musl's internal `__` names and their public aliases).

Sync functions: musl (and so wasi-libc) was written before C11 atomics. Its
lock words, futex words and thread states are `volatile int`s read and
written with plain loads and stores, ordered by `a_cas` (on wasm32 a
`cmpxchg`) and `a_barrier`; on wasm32 even `a_store`, `a_swap` and
`a_fetch_add` are a plain read followed by a compare-exchange loop. Those
plain accesses are the synchronization itself: counted as races, every
program that takes a mutex would report one, and, worse, the order they
give (a join that reads the exited thread's state with a plain load) would
be lost, so correct programs would report races on their own data. In these
functions a plain load counts as an atomic acquire of its address and a
plain store as an atomic release, which is what `volatile` means to musl.

Default suppressions: plain accesses of libc that race by design, outside
the sync functions, as (pattern, why the race is benign). Looked for by
running the wasi-libc threads conformance suite under the check in every
mode (README, Conformance): every race it reported was in the tests' own
code, none in libc outside the sync functions, so the list is empty. A
user's own patterns come on top of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .access_pass import SyncFunction

__all__ = ["DEFAULT_SUPPRESSIONS", "DEFAULT_SYNC_FUNCTIONS", "STEERING_EXCLUSIONS", "SuppressionError",
           "check_patterns"]


def _c(names: str, why: str) -> SyncFunction:
    """musl functions under their public or internal (`__`) names: `names` is a regex alternative."""
    return SyncFunction(rf"(?:__)?(?:{names})", why)


def _internal(names: str, why: str) -> SyncFunction:
    """musl's internal functions, only under their `__` names (a user's `lock` is not libc's)."""
    return SyncFunction(rf"__(?:{names})", why)


DEFAULT_SYNC_FUNCTIONS: tuple[SyncFunction, ...] = (
    _internal(r"wait|wake|futexwait|timedwait|timedwait_cp|wasilibc_futex_wait|wasilibc_futex_wake"
       r"|wasilibc_futex_wait_maybe_busy",
       "futex helpers: `while (*addr == val) wait(addr)` reads the futex word with plain loads"),
    _internal(r"lock|unlock|lockfile|unlockfile|ofl_lock|ofl_unlock|tl_lock|tl_unlock|tl_sync",
       "libc's internal locks (LOCK, FILE locks, the open-file and thread lists): a_cas on a volatile "
       "word, plain reads of it and of its waiter count"),
    _internal(r"acquire_ptc|release_ptc|inhibit_ptc", "the thread-creation rwlock of musl"),
    _c(r"pthread_mutex_\w+", "mutexes: _m_lock, _m_waiters and _m_count are volatile words around a_cas"),
    _c(r"pthread_cond_\w+|private_cond_signal",
       "condition variables: the waiter list and each waiter's state are volatile words around a_cas"),
    _c(r"pthread_rwlock_\w+", "rwlocks: _rw_lock and _rw_waiters are volatile words around a_cas"),
    _c(r"pthread_barrier_wait", "barriers: the instance's count and `finished` flag are volatile words"),
    _c(r"pthread_spin_\w+", "spinlocks: a volatile word spun on with plain reads between a_cas"),
    _c(r"pthread_once|pthread_once_full|call_once", "pthread_once: the control word is read plainly on the "
       "fast path, after a_barrier"),
    _c(r"sem_\w+", "semaphores: the value and waiter count are volatile words around a_cas"),
    _c(r"pthread_join|pthread_timedjoin_np|pthread_tryjoin_np|pthread_detach|pthread_exit",
       "join and detach read the thread's detach_state with plain loads; exit publishes it with a_cas"),
    _c(r"pthread_create|wasi_thread_start_C|wasilibc_pthread_self",
       "thread start: the start data and detach_state handed between parent and child"),
    _c(r"(?:mtx|cnd|thrd)_\w+", "C11 threads: wrappers over the pthread functions above"),
)

DEFAULT_SUPPRESSIONS: tuple[tuple[str, str], ...] = ()  # (pattern, why): none needed so far, see above

# Functions whose accesses never steer race direction as race candidates (detector.py, "Candidates"):
# checked and reported like any other, but not made preemption points for being unordered by
# thread creation alone. (pattern matched against whole function names, why)
STEERING_EXCLUSIONS: tuple[tuple[str, str], ...] = (
    (r"dl(?:malloc|free|calloc|realloc|realloc_in_place|memalign|posix_memalign|malloc_usable_size"
     r"|bulk_free|independent_calloc|independent_comalloc|malloc_trim)"
     r"|malloc|free|calloc|realloc|aligned_alloc|posix_memalign|memalign|valloc|pvalloc|malloc_usable_size"
     r"|prepend_alloc|add_segment|sys_alloc|sys_trim|tmalloc_large|tmalloc_small|release_unused_segments"
     r"|dispose_chunk|internal_memalign|internal_bulk_free|try_realloc_chunk|init_top|init_bins"
     r"|init_mparams|change_mparam|sbrk",
     "wasi-libc's allocator (dlmalloc) under its one lock: every thread's malloc and free touch its bins and "
     "chunk headers, candidates in any threaded program that allocates (44 of 52 candidate sites of "
     "guests/libc/detached_threads), and never the program's own bug"),
)


class SuppressionError(ValueError):
    """A suppression pattern that is not a valid regex (or not a string)."""


def check_patterns(patterns: Iterable[object], what: str = "suppress") -> tuple[str, ...]:
    """The patterns as a tuple of compiled-valid regex strings, or SuppressionError with one line."""
    if isinstance(patterns, (str, bytes)):
        raise SuppressionError(f"{what}: expected a list of function-name patterns, got the string {patterns!r}")
    out = []
    for p in patterns:
        if not isinstance(p, str) or not p:
            raise SuppressionError(f"{what}: a pattern must be a non-empty string (a regex matched against "
                                   f"whole function names), got {p!r}")
        try:
            re.compile(p)
        except re.error as exc:
            raise SuppressionError(f"{what}: {p!r} is not a valid regular expression: {exc}") from None
        out.append(p)
    return tuple(out)
