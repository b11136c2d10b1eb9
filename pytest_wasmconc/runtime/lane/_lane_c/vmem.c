/* The virtual memory size: `memory.size` and `memory.grow` of a guest loaded for the reset path.
 *
 * A shared memory cannot shrink, and every wasi-libc guest grows its memory in every schedule
 * (malloc's sbrk). So that an exploration's next schedule can run on the same memory, the
 * instrumenter (instrument/vmem.py) sends the guest's `memory.size`/`memory.grow` here, where the
 * size the guest sees is the execution's `vmem_pages`: it starts at the memory's initial size in
 * every execution, whatever the real memory grew to before. A grow past the real size grows the
 * real memory to exactly the new size, so a fresh execution's real memory is always the size its
 * guest sees; on a reused memory the pages between the two are PROT_NONE (the pool protects them
 * at the reset, runtime/machine/reuse.py), so a plain access there faults and Wasmtime reports it
 * as the out-of-bounds trap a fresh memory of the virtual size gives; a grow makes them
 * accessible again. Host code bounds guest pointers by `exec_memory_bytes`.
 *
 * These are Wasmtime's unchecked host functions (no future, no Python): they never suspend and
 * touch no Python object. Grows take a lock (reads of the size do not), so concurrent grows (os
 * mode, if a guest so loaded ever ran there) each get the old size of their own grow, as real ones
 * do, and none publishes a size whose pages are not yet accessible.
 */
#include "lane.h"

#include <sys/mman.h>

#define PAGE_SHIFT 16

static ExecObject *caller_exec(void *caller) {
    SlotObject *s = (SlotObject *)p_context_get_data(p_caller_context(caller));
    if (s == NULL || s->magic != SLOT_MAGIC || s->exec == NULL)
        return NULL;
    return s->exec;
}

uint64_t exec_memory_bytes(ExecObject *e) {
    int64_t pages = __atomic_load_n(&e->vmem_pages, __ATOMIC_SEQ_CST);
    if (pages >= 0)
        return (uint64_t)pages << PAGE_SHIFT;
    return p_sharedmemory_data_size(e->shared_memory);
}

static void *not_virtual(void) {
    return new_trap("wasmconc: memory.size/memory.grow of a memory without a virtual size");
}

/* The calling execution when its shared memory has a virtual size, else NULL. */
static ExecObject *virtual_exec(void *caller) {
    ExecObject *e = caller_exec(caller);
    return e != NULL && e->shared_memory != NULL && e->vmem_pages >= 0 ? e : NULL;
}

/* () -> i32: memory.size */
void *vmem_size_host(void *env, void *caller, void *args_and_results, size_t n) {
    (void)env;
    (void)n;
    ExecObject *e = virtual_exec(caller);
    if (e == NULL)
        return not_virtual();
    *(int32_t *)args_and_results = (int32_t)__atomic_load_n(&e->vmem_pages, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Make the real memory at least `pages` long; 0 when it cannot be (as a real grow fails). */
static int ensure_real(ExecObject *e, uint64_t pages) {
    for (;;) {
        uint64_t real = p_sharedmemory_data_size(e->shared_memory) >> PAGE_SHIFT;
        if (real >= pages)
            return 1;
        uint64_t prev = 0;
        void *err = p_sharedmemory_grow(e->shared_memory, pages - real, &prev);
        if (err == NULL)
            return 1;
        p_error_delete(err);
        /* another thread may have grown it meanwhile: only a memory still too small is a failure */
        if ((p_sharedmemory_data_size(e->shared_memory) >> PAGE_SHIFT) < pages)
            return 0;
    }
}

/* (delta: i32) -> i32: memory.grow; the old size in pages, or -1 */
void *vmem_grow_host(void *env, void *caller, void *args_and_results, size_t n) {
    (void)env;
    (void)n;
    ExecObject *e = virtual_exec(caller);
    if (e == NULL)
        return not_virtual();
    uint64_t delta = *(uint32_t *)args_and_results;
    /* Grows one at a time: the real memory grown and the pages made accessible before the new size
     * is published, so a thread that reads it (memory.size, a bounds check) finds them; a failed
     * grow changes nothing. Never contended in the serial modes (one OS thread runs the guest). */
    while (__atomic_test_and_set(&e->vmem_lock, __ATOMIC_ACQUIRE))
        ;
    int64_t old = e->vmem_pages;
    int32_t answer = -1;
    void *trap = NULL;
    if ((int64_t)delta <= e->vmem_max - old) {
        int64_t grown = old + (int64_t)delta;
        uint64_t real_before = p_sharedmemory_data_size(e->shared_memory) >> PAGE_SHIFT;
        if (ensure_real(e, (uint64_t)grown)) {
            /* the reset path's protected pages up to the new size (above real_before Wasmtime's
             * grow made them accessible itself) */
            uint64_t top = (uint64_t)grown < real_before ? (uint64_t)grown : real_before;
            if (top > (uint64_t)old && e->mem_base != NULL &&
                mprotect(e->mem_base + ((uint64_t)old << PAGE_SHIFT), (top - (uint64_t)old) << PAGE_SHIFT,
                         PROT_READ | PROT_WRITE) != 0) {
                trap = new_trap("wasmconc: cannot make grown memory accessible (mprotect failed)");
            } else {
                __atomic_store_n(&e->vmem_pages, grown, __ATOMIC_SEQ_CST);
                answer = (int32_t)old;
            }
        }
    }
    __atomic_clear(&e->vmem_lock, __ATOMIC_RELEASE);
    if (trap == NULL)
        *(int32_t *)args_and_results = answer;
    return trap;
}
