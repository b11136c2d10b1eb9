/* The happens-before detector in C: detector.py's algorithm, step for step, over growable tables.
 *
 * Every decision here is the one detector.py makes, in the same order, so
 * both report the same races for the same events (tests/checks/races/
 * test_native.py runs scripted and recorded event sequences through both).
 * Nothing has a fixed size: threads, vector clocks, sync keys and shadow
 * pages grow with the guest. Every allocation failure returns -1 and leaves
 * the tables consistent. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "races.h"

/* ---- the hash table ---- */

static uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t x = a * UINT64_C(0x9e3779b97f4a7c15) ^ (b + UINT64_C(0x632be59bd9b4e019));
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static MapSlot *map_find(const Map *m, uint64_t a, uint64_t b) {
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = mix(a, b) & mask;; i = (i + 1) & mask) {
        MapSlot *s = &m->slots[i];
        if (!s->used)
            return NULL;
        if (s->a == a && s->b == b)
            return s;
    }
}

static int map_grow(Map *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    MapSlot *slots = calloc(cap, sizeof(MapSlot));
    if (!slots)
        return -1;
    for (size_t j = 0; j < m->cap; j++) {
        MapSlot *s = &m->slots[j];
        if (!s->used)
            continue;
        size_t i = mix(s->a, s->b) & (cap - 1);
        while (slots[i].used)
            i = (i + 1) & (cap - 1);
        slots[i] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* Insert (a, b) -> value; the key must not be present. */
static int map_put(Map *m, uint64_t a, uint64_t b, uint64_t value) {
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) < 0)
        return -1;
    size_t mask = m->cap - 1;
    size_t i = mix(a, b) & mask;
    while (m->slots[i].used)
        i = (i + 1) & mask;
    m->slots[i] = (MapSlot){a, b, value, 1};
    m->n++;
    return 0;
}

static void map_free(Map *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

/* ---- vector clocks ----
 * Their storage grows with the square of the threads (each thread's clock, each sync object's and
 * each creation's has an entry per thread): a program that starts 16,384 threads needed tens of GiB,
 * and Linux's OOM killer ended the process instead of malloc failing. Every detector of the process
 * counts its clocks' bytes here; past a quarter of the machine's memory a clock does not grow and
 * the check stops with VC_BUDGET_MESSAGE (a trap of the calling thread, or a MemoryError). */
static _Atomic size_t vc_bytes;
static size_t vc_budget;
static _Thread_local int vc_over_budget;

const char VC_BUDGET_MESSAGE[] = "wasmconc: the race check stopped: its vector clocks (an entry per thread for each "
                                 "thread and synchronization object) would take more than a quarter of this "
                                 "machine's memory; check this program with fewer threads";

static size_t vc_budget_bytes(void) {
    if (vc_budget == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        vc_budget = pages > 0 && size > 0 ? (size_t)pages * (size_t)size / 4 : (size_t)4 << 30;
    }
    return vc_budget;
}

/* The budget in bytes (0: a quarter of the machine's memory again); the bytes counted now. */
size_t det_set_vc_budget(size_t bytes) {
    vc_budget = bytes;
    return atomic_load(&vc_bytes);
}

int det_over_budget(void) {
    int over = vc_over_budget;
    vc_over_budget = 0;
    return over;
}

static void vc_release(VC *v) {
    atomic_fetch_sub(&vc_bytes, (size_t)v->cap * sizeof(uint64_t));
    free(v->c);
    v->c = NULL;
    v->n = v->cap = 0;
}

uint64_t vc_get(const VC *v, uint32_t t) { return t < v->n ? v->c[t] : 0; }

static int vc_reserve(VC *v, uint32_t n) {
    if (n <= v->n)
        return 0;
    if (n > v->cap) {
        uint32_t cap = v->cap ? v->cap : 4;
        while (cap < n)
            cap = cap > UINT32_MAX / 2 ? n : cap * 2;
        size_t grow = (size_t)(cap - v->cap) * sizeof(uint64_t);
        if (atomic_load(&vc_bytes) + grow > vc_budget_bytes()) {
            vc_over_budget = 1;
            return -1;
        }
        uint64_t *c = realloc(v->c, (size_t)cap * sizeof(uint64_t));
        if (!c)
            return -1;
        atomic_fetch_add(&vc_bytes, grow);
        v->c = c;
        v->cap = cap;
    }
    memset(v->c + v->n, 0, (size_t)(n - v->n) * sizeof(uint64_t));
    v->n = n;
    return 0;
}

static int vc_set(VC *v, uint32_t t, uint64_t c) {
    if (t >= v->n && vc_reserve(v, t + 1) < 0)
        return -1;
    v->c[t] = c;
    return 0;
}

/* into |= from; *raised says whether an entry of `into` went up. */
static int vc_join(VC *into, const VC *from, bool *raised) {
    uint32_t n = from->n;
    while (n && !from->c[n - 1])
        n--;
    if (n > into->n && vc_reserve(into, n) < 0)
        return -1;
    bool up = false;
    for (uint32_t t = 0; t < n; t++)
        if (into->c[t] < from->c[t]) {
            into->c[t] = from->c[t];
            up = true;
        }
    if (raised)
        *raised = up;
    return 0;
}

/* ---- threads ---- */

void det_init(Det *d, bool solo, bool concurrent, bool candidates) {
    memset(d, 0, sizeof(*d));
    d->solo = solo;
    d->concurrent = concurrent;
    d->candidates = candidates;
    d->last_page_no = UINT64_MAX;
    d->probe_hit = -1;
    pthread_mutex_init(&d->mu, NULL);
}

static void entry_free(Entry *e) {
    if (e->reads) {
        free(e->reads->v);
        free(e->reads);
        e->reads = NULL;
    }
}

void det_free(Det *d) {
    for (uint32_t i = 0; i < d->cap_threads; i++) {
        vc_release(&d->threads[i].vc);
        vc_release(&d->threads[i].created);
    }
    for (size_t i = 0; i < d->ncreating; i++)
        vc_release(&d->creating[i].vc);
    free(d->creating);
    map_free(&d->candidate_map);
    free(d->candidate_pairs);
    free(d->threads);
    for (size_t i = 0; i < d->nsyncs; i++)
        vc_release(&d->syncs[i].vc);
    free(d->syncs);
    free(d->sts);
    for (size_t i = 0; i < d->page_map.cap; i++) {
        MapSlot *s = &d->page_map.slots[i];
        if (!s->used)
            continue;
        Cell *page = (Cell *)(uintptr_t)s->value;
        for (uint32_t g = 0; g < PAGE_GRANULES; g++) {
            entry_free(&page[g].first);
            for (uint32_t k = 0; k < page[g].nmore; k++)
                entry_free(&page[g].more[k]);
            free(page[g].more);
        }
        free(page);
    }
    map_free(&d->sync_map);
    map_free(&d->st_map);
    map_free(&d->page_map);
    map_free(&d->pairs);
    free(d->scratch.v);
    free(d->found.v);
    free(d->sites);
    free(d->site_hits);
    free(d->probe_message);
    pthread_mutex_destroy(&d->mu);
    memset(d, 0, sizeof(*d));
}

Thread *det_thread(Det *d, uint32_t tid) {
    if (tid > MAX_TID)
        return NULL;
    if (tid >= d->cap_threads) {
        uint32_t cap = d->cap_threads ? d->cap_threads : 16;
        while (cap <= tid)
            cap *= 2;
        Thread *t = realloc(d->threads, (size_t)cap * sizeof(Thread));
        if (!t)
            return NULL;
        memset(t + d->cap_threads, 0, (size_t)(cap - d->cap_threads) * sizeof(Thread));
        d->threads = t;
        d->cap_threads = cap;
    }
    return &d->threads[tid];
}

/* Thread tid's vector clock (a new thread starts at 1@tid, ordered after nothing). */
VC *det_clock(Det *d, uint32_t tid) {
    Thread *t = det_thread(d, tid);
    if (!t)
        return NULL;
    if (!t->has_clock) {
        if (vc_set(&t->vc, tid, 1) < 0)
            return NULL;
        t->has_clock = 1;
        d->nclocks++;
    }
    return &t->vc;
}

/* An array of `n` elements of `elem` bytes with room for one more: `v` itself while `n` < *cap, else
 * `v` reallocated to twice *cap (`first` when empty), *cap updated; NULL when out of memory (`v` and
 * *cap as they were). */
static void *room_for_one(void *v, size_t *cap, size_t n, size_t elem, size_t first) {
    if (n < *cap)
        return v;
    size_t grown = *cap ? *cap * 2 : first;
    void *w = realloc(v, grown * elem);
    if (w)
        *cap = grown;
    return w;
}

/* ---- synchronization ---- */

/* The index of key's Sync, created (absent) when `create`; -1: none, -2: out of memory. */
static long long sync_index(Det *d, int kind, uint64_t key, bool create) {
    MapSlot *s = map_find(&d->sync_map, key, (uint64_t)kind);
    if (s)
        return (long long)s->value;
    if (!create)
        return -1;
    Sync *syncs = room_for_one(d->syncs, &d->cap_syncs, d->nsyncs, sizeof(Sync), 64);
    if (!syncs)
        return -2;
    d->syncs = syncs;
    if (map_put(&d->sync_map, key, (uint64_t)kind, d->nsyncs) < 0)
        return -2;
    memset(&d->syncs[d->nsyncs], 0, sizeof(Sync));
    return (long long)d->nsyncs++;
}

static SyncThread *sync_thread(Det *d, size_t sync, uint32_t tid) {
    MapSlot *s = map_find(&d->st_map, sync, tid);
    if (s)
        return &d->sts[s->value];
    SyncThread *sts = room_for_one(d->sts, &d->cap_sts, d->nsts, sizeof(SyncThread), 64);
    if (!sts)
        return NULL;
    d->sts = sts;
    if (map_put(&d->st_map, sync, tid, d->nsts) < 0)
        return NULL;
    memset(&d->sts[d->nsts], 0, sizeof(SyncThread));
    return &d->sts[d->nsts++];
}

/* tid synchronizes with every release of the key so far. */
int det_acquire(Det *d, uint32_t tid, int kind, uint64_t key) {
    d->sync_ops++;
    long long i = sync_index(d, kind, key, false);
    if (i < 0 || !d->syncs[i].present)
        return 0;
    SyncThread *st = sync_thread(d, (size_t)i, tid);
    if (!st)
        return -1;
    uint64_t version = d->syncs[i].version;
    if (st->has_seen && st->seen == version)
        return 0; /* nothing released into the key since this thread last acquired it */
    st->seen = version;
    st->has_seen = 1;
    VC *vc = det_clock(d, tid);
    if (!vc)
        return -1;
    bool raised;
    if (vc_join(vc, &d->syncs[i].vc, &raised) < 0)
        return -1;
    if (raised)
        d->threads[tid].raised++;
    return 0;
}

/* Candidates: a spawn or fork sends its thread's creation clock and where its creator is now. */
static int send_creation(Det *d, uint32_t tid, int kind, uint64_t key, const VC *vc) {
    /* A second send into a key its thread has not taken yet replaces the first (as detector.py's). */
    Creating *slot = NULL, *free_slot = NULL;
    for (size_t i = 0; i < d->ncreating && !slot; i++) {
        Creating *c = &d->creating[i];
        if (c->used && c->kind == kind && c->key == key)
            slot = c;
        else if (!c->used && !free_slot)
            free_slot = c;
    }
    if (!slot)
        slot = free_slot;
    if (!slot) {
        Creating *v = realloc(d->creating, (d->ncreating + 1) * sizeof(Creating));
        if (!v)
            return -1;
        d->creating = v;
        slot = &v[d->ncreating++];
        memset(slot, 0, sizeof(*slot));
    }
    slot->vc.n = 0;
    if (vc_join(&slot->vc, &d->threads[tid].created, NULL) < 0 || vc_set(&slot->vc, tid, vc->c[tid]) < 0)
        return -1;
    slot->kind = kind;
    slot->key = key;
    slot->used = 1;
    return 0;
}

/* Candidates: the thread a spawn or fork started takes the creation clock it sent. */
static int take_creation(Det *d, uint32_t tid, int kind, uint64_t key) {
    if (!det_thread(d, tid))
        return -1;
    for (size_t i = 0; i < d->ncreating; i++) {
        Creating *c = &d->creating[i];
        if (c->used && c->kind == kind && c->key == key) {
            c->used = 0;
            return vc_join(&d->threads[tid].created, &c->vc, NULL);
        }
    }
    return 0;
}

static bool creates(int kind) { return kind == KEY_SPAWN || kind == KEY_FORK; }

/* What tid did so far happens before whoever acquires the key next; tid starts a new epoch. */
int det_release(Det *d, uint32_t tid, int kind, uint64_t key) {
    d->sync_ops++;
    VC *vc = det_clock(d, tid);
    if (!vc)
        return -1;
    if (d->candidates && creates(kind) && send_creation(d, tid, kind, key, vc) < 0)
        return -1;
    long long i = sync_index(d, kind, key, true);
    if (i < 0)
        return -1;
    SyncThread *st = sync_thread(d, (size_t)i, tid);
    if (!st)
        return -1;
    Sync *s = &d->syncs[i];
    uint64_t raised = d->threads[tid].raised;
    if (!s->present) {
        s->vc.n = 0;
        if (vc_join(&s->vc, vc, NULL) < 0)
            return -1;
        s->present = 1;
        d->present_syncs++;
    } else if (st->has_joined && st->joined_gen == s->gen && st->joined == raised) {
        /* Since this thread's last full join into the key only its own entry moved. */
        if (vc_get(&s->vc, tid) < vc->c[tid] && vc_set(&s->vc, tid, vc->c[tid]) < 0)
            return -1;
    } else if (vc_join(&s->vc, vc, NULL) < 0) {
        return -1;
    }
    st->joined = raised;
    st->joined_gen = s->gen;
    st->has_joined = 1;
    s->version++;
    vc->c[tid]++;
    return 0;
}

/* Acquire the key and forget it: a one-time edge (a spawn to the thread it started). */
int det_handoff(Det *d, uint32_t tid, int kind, uint64_t key) {
    if (det_acquire(d, tid, kind, key) < 0)
        return -1;
    if (d->candidates && creates(kind) && take_creation(d, tid, kind, key) < 0)
        return -1;
    long long i = sync_index(d, kind, key, false);
    if (i >= 0 && d->syncs[i].present) {
        Sync *s = &d->syncs[i];
        s->present = 0;
        s->vc.n = 0;
        s->gen++;
        d->present_syncs--;
    }
    return 0;
}

/* ---- shadow memory ---- */

static Cell *cell_of(Det *d, uint64_t word) {
    uint64_t page_no = word >> PAGE_SHIFT;
    Cell *page;
    if (page_no == d->last_page_no) {
        page = d->last_page;
    } else {
        MapSlot *s = map_find(&d->page_map, page_no, 0);
        if (s) {
            page = (Cell *)(uintptr_t)s->value;
        } else {
            page = calloc(PAGE_GRANULES, sizeof(Cell));
            if (!page)
                return NULL;
            if (map_put(&d->page_map, page_no, 0, (uint64_t)(uintptr_t)page) < 0) {
                free(page);
                return NULL;
            }
        }
        d->last_page_no = page_no;
        d->last_page = page;
    }
    return &page[word & (PAGE_GRANULES - 1)];
}

static int push_race(RaceBuf *b, uint32_t prev_tid, bool prev_write, const Info *prev, uint32_t tid, bool write,
                     const Info *cur) {
    RacePair *v = room_for_one(b->v, &b->cap, b->n, sizeof(RacePair), 8);
    if (!v)
        return -1;
    b->v = v;
    b->v[b->n++] = (RacePair){{prev_tid, prev_write, *prev}, {tid, write, *cur}};
    return 0;
}

static void entry_init(Entry *e, uint8_t mask, bool write, uint64_t epoch, const Info *info) {
    memset(e, 0, sizeof(*e));
    e->mask = mask;
    if (write) {
        e->w = epoch;
        e->w_info = *info;
    } else {
        e->r = epoch;
        e->r_info = *info;
    }
}

static int reads_put(Reads *rs, uint32_t tid, uint64_t clock, const Info *info) {
    for (uint32_t k = 0; k < rs->n; k++)
        if (rs->v[k].tid == tid) {
            rs->v[k].clock = clock;
            rs->v[k].info = *info;
            return 0;
        }
    if (rs->n == rs->cap) {
        uint32_t cap = rs->cap ? rs->cap * 2 : 4;
        ReadRec *v = realloc(rs->v, (size_t)cap * sizeof(ReadRec));
        if (!v)
            return -1;
        rs->v = v;
        rs->cap = cap;
    }
    rs->v[rs->n++] = (ReadRec){tid, 0, clock, *info};
    return 0;
}

static inline bool ordered(uint64_t epoch, const VC *vc) {
    return (epoch >> TID_BITS) <= vc_get(vc, (uint32_t)(epoch & TID_MASK));
}

/* Candidates: note the pair (earlier, later) of sites once. */
static int note_candidate(Det *d, uint32_t earlier, uint32_t later) {
    if (map_find(&d->candidate_map, earlier, later))
        return 0;
    if (map_put(&d->candidate_map, earlier, later, 0) < 0)
        return -1;
    SitePair *pairs = room_for_one(d->candidate_pairs, &d->cap_candidates, d->ncandidates, sizeof(SitePair), 16);
    if (!pairs)
        return -1;
    d->candidate_pairs = pairs;
    d->candidate_pairs[d->ncandidates++] = (SitePair){earlier, later};
    return 0;
}

/* detector.py's _note_candidates: the pairs this access makes with the overlapping earlier ones of
 * threads whose accesses its thread's creation does not order (`ordered` against the creation clock). */
static int note_candidates(Det *d, Cell *cell, uint8_t mask, uint32_t tid, const Info *info, bool write) {
    const VC *created = &d->threads[tid].created;
    uint32_t n = 1 + cell->nmore;
    for (uint32_t k = 0; k < n; k++) {
        Entry *e = k ? &cell->more[k - 1] : &cell->first;
        if (!(e->mask & mask))
            continue;
        if (e->w && (uint32_t)(e->w & TID_MASK) != tid && !ordered(e->w, created) &&
            note_candidate(d, e->w_info.site, info->site) < 0)
            return -1;
        if (!write)
            continue;
        if (e->reads) {
            for (uint32_t j = 0; j < e->reads->n; j++) {
                ReadRec *rr = &e->reads->v[j];
                if (rr->tid != tid && rr->clock > vc_get(created, rr->tid) &&
                    note_candidate(d, rr->info.site, info->site) < 0)
                    return -1;
            }
        } else if (e->r && (uint32_t)(e->r & TID_MASK) != tid && !ordered(e->r, created) &&
                   note_candidate(d, e->r_info.site, info->site) < 0) {
            return -1;
        }
    }
    return 0;
}

/* detector.py's _word: check one granule's entries that overlap `mask`, then update its own. */
static int check_word(Det *d, uint64_t word, uint8_t mask, const VC *vc, uint32_t tid, uint64_t now, uint64_t epoch,
                      const Info *info, bool write) {
    Cell *cell = cell_of(d, word);
    if (!cell)
        return -1;
    if (!cell->first.mask) {
        entry_init(&cell->first, mask, write, epoch, info);
        d->shadow_words++;
        return 0;
    }
    uint32_t n = 1 + cell->nmore;
    Entry *mine = NULL;
    for (uint32_t k = 0; k < n; k++) {
        Entry *e = k ? &cell->more[k - 1] : &cell->first;
        if (e->mask == mask) {
            mine = e;
            break;
        }
    }
    if (mine && (write ? mine->w : mine->r) == epoch)
        return 0; /* done already in this epoch */
    if (d->candidates && note_candidates(d, cell, mask, tid, info, write) < 0)
        return -1;
    for (uint32_t k = 0; k < n; k++) {
        Entry *e = k ? &cell->more[k - 1] : &cell->first;
        if (!(e->mask & mask))
            continue;
        if (e->w && !ordered(e->w, vc) && push_race(&d->scratch, (uint32_t)(e->w & TID_MASK), true, &e->w_info, tid,
                                                     write, info) < 0)
            return -1;
        if (!write)
            continue;
        if (e->reads) {
            for (uint32_t j = 0; j < e->reads->n; j++) {
                ReadRec *rr = &e->reads->v[j];
                if (rr->clock > vc_get(vc, rr->tid) && rr->tid != tid &&
                    push_race(&d->scratch, rr->tid, false, &rr->info, tid, write, info) < 0)
                    return -1;
            }
        } else if (e->r && !ordered(e->r, vc) &&
                   push_race(&d->scratch, (uint32_t)(e->r & TID_MASK), false, &e->r_info, tid, write, info) < 0) {
            return -1;
        }
    }
    if (!mine) {
        if (cell->nmore == cell->capmore) {
            uint32_t cap = cell->capmore ? cell->capmore * 2 : 2;
            Entry *v = realloc(cell->more, (size_t)cap * sizeof(Entry));
            if (!v)
                return -1;
            cell->more = v;
            cell->capmore = cap;
        }
        entry_init(&cell->more[cell->nmore++], mask, write, epoch, info);
    } else if (write) {
        mine->w = epoch;
        mine->w_info = *info;
        /* Every read of this mask was just checked against this write (FastTrack's rule). */
        entry_free(mine);
        mine->r = 0;
    } else if (mine->reads) {
        if (reads_put(mine->reads, tid, now, info) < 0)
            return -1;
    } else if (!mine->r || ordered(mine->r, vc)) {
        mine->r = epoch;
        mine->r_info = *info;
    } else {
        Reads *rs = calloc(1, sizeof(Reads));
        if (!rs)
            return -1;
        if (reads_put(rs, (uint32_t)(mine->r & TID_MASK), mine->r >> TID_BITS, &mine->r_info) < 0 ||
            reads_put(rs, tid, now, info) < 0) {
            free(rs->v);
            free(rs);
            return -1;
        }
        mine->reads = rs;
        mine->r = 0;
    }
    return 0;
}

/* A plain access of [addr, addr+size): its races go to d->scratch (detector.py's check). */
int det_check(Det *d, uint32_t tid, uint64_t addr, uint64_t size, bool write, uint32_t site, uint64_t seq) {
    if (d->solo || size == 0 || addr + (size - 1) < addr)
        return 0; /* one thread so far; nothing accessed; bytes past 2**64 (the access traps) */
    d->accesses++;
    if (site >= d->cap_hits) {
        size_t cap = d->cap_hits ? d->cap_hits : 64;
        while (cap <= site)
            cap *= 2;
        uint64_t *hits = realloc(d->site_hits, cap * sizeof(uint64_t));
        if (!hits)
            return -1;
        memset(hits + d->cap_hits, 0, (cap - d->cap_hits) * sizeof(uint64_t));
        d->site_hits = hits;
        d->cap_hits = cap;
    }
    d->site_hits[site]++;
    VC *vc = det_clock(d, tid);
    if (!vc)
        return -1;
    uint64_t now = vc->c[tid];
    uint64_t epoch = now << TID_BITS | tid;
    Info info = {addr, seq, (uint32_t)size, site};
    uint64_t last = addr + (size - 1);
    uint64_t a = addr;
    for (;;) {
        uint64_t word = a >> 3;
        unsigned lo = (unsigned)(a & 7);
        bool final = (last >> 3) == word;
        unsigned hi = final ? (unsigned)(last & 7) + 1 : 8;
        uint8_t mask = (uint8_t)(((1u << hi) - 1) & ~((1u << lo) - 1));
        if (check_word(d, word, mask, vc, tid, now, epoch, &info, write) < 0)
            return -1;
        if (final)
            return 0;
        a = (word + 1) << 3;
    }
}

/* ---- the recorder's part: one report of the guest ---- */

/* The races of d->scratch whose pair of sites is new in this execution go to d->found. */
static int keep_new_pairs(Det *d) {
    for (size_t k = 0; k < d->scratch.n; k++) {
        RacePair *r = &d->scratch.v[k];
        uint64_t a = r->prev.info.site, b = r->cur.info.site;
        if (a > b) {
            uint64_t t = a;
            a = b;
            b = t;
        }
        if (map_find(&d->pairs, a, b))
            continue;
        if (map_put(&d->pairs, a, b, 0) < 0 ||
            push_race(&d->found, r->prev.tid, r->prev.write, &r->prev.info, r->cur.tid, r->cur.write, &r->cur.info) < 0)
            return -1;
    }
    d->scratch.n = 0;
    return 0;
}

/* recorder.py's _access and _range: one call of wasmconc_races.access/access64/range by thread tid.
 * `memory_size`: the shared memory's size now (a range past it traps before touching anything).
 * 0, or -1 with *error set. */
int det_report(Det *d, uint32_t tid, uint64_t addr, uint32_t site_index, bool is_range, uint64_t length,
               uint64_t memory_size, const char **error) {
    if (site_index >= d->nsites) {
        static _Thread_local char message[80];
        snprintf(message, sizeof message, "wasmconc: race check report with unknown site %u", site_index);
        *error = message;
        return -1;
    }
    *error = "wasmconc: the race check ran out of memory";
    Thread *t = det_thread(d, tid);
    if (!t)
        return -1;
    uint64_t seq = ++t->seq;
    if (d->probing) {
        if (tid != d->probe_tid || seq != d->probe_seq)
            return 0;
        d->probe_hit = site_index;
        *error = d->probe_message;
        return -1;
    }
    const Site *site = &d->sites[site_index];
    int rc = 0;
    if (is_range) {
        if (length == 0 || addr + length > memory_size || addr + length < addr)
            return 0;
        rc = det_check(d, tid, addr, length, site->code == K_WRITE, site_index, seq);
    } else if (site->code <= K_WRITE) {
        uint64_t ea = addr + site->offset;
        if (ea < addr)
            return 0; /* past 2**64: the access traps */
        rc = det_check(d, tid, ea, site->size, site->code == K_WRITE, site_index, seq);
    } else if (site->code == K_ACQUIRE) {
        return det_acquire(d, tid, KEY_ADDR, addr + site->offset);
    } else if (site->code == K_RELEASE) {
        return det_release(d, tid, KEY_ADDR, addr + site->offset);
    } else if (site->code == K_SPAWN) {
        d->solo = false;
        return det_release(d, tid, KEY_SPAWN, addr);
    } else {
        /* The start argument is unique among live threads, not forever: hand the parent's clock over once. */
        d->solo = false;
        return det_handoff(d, tid, KEY_SPAWN, addr);
    }
    if (rc < 0)
        return -1;
    return d->scratch.n ? keep_new_pairs(d) : 0;
}
