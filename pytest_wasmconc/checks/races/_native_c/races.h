/* The native race detector's shared declarations (see module.c for what it is). */
#ifndef WASMCONC_RACES_H
#define WASMCONC_RACES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An epoch c@t is (c << TID_BITS) | t, as in detector.py. */
#define TID_BITS 30
#define TID_MASK ((UINT64_C(1) << TID_BITS) - 1)
#define MAX_TID ((uint32_t)TID_MASK)
/* Shadow memory: 8-byte granules, in pages of 512 granules (4 KiB of guest memory),
 * allocated when first touched and found through a hash table by page number. */
#define PAGE_SHIFT 9
#define PAGE_GRANULES (1u << PAGE_SHIFT)

/* Site kinds, in the order of recorder.py's codes. */
enum { K_READ = 0, K_WRITE = 1, K_ACQUIRE = 2, K_RELEASE = 3, K_SPAWN = 4, K_START = 5 };
/* Kinds of synchronization keys (detector.py's keys: an address, ("host", id), ("spawn", a), ("fork", p, c)). */
enum { KEY_ADDR = 0, KEY_HOST = 1, KEY_SPAWN = 2, KEY_FORK = 3 };

/* What a report says of one access besides its thread and kind. */
typedef struct { uint64_t addr, seq; uint32_t size, site; } Info;
typedef struct { uint32_t tid; uint8_t write; Info info; } Acc;
typedef struct { Acc prev, cur; } RacePair;
typedef struct { RacePair *v; size_t n, cap; } RaceBuf;

/* An insert-only open-addressing hash table from a pair of u64 to a u64. */
typedef struct { uint64_t a, b, value; uint64_t used; } MapSlot;
typedef struct { MapSlot *slots; size_t cap, n; } Map;

/* A dense vector clock: entry t is thread t's clock (0: nothing known of it). */
typedef struct { uint64_t *c; uint32_t n, cap; } VC;

typedef struct { uint32_t tid; uint32_t pad; uint64_t clock; Info info; } ReadRec;
typedef struct { ReadRec *v; uint32_t n, cap; } Reads;

/* The state of the bytes one mask covers within one granule (detector.py's _Entry). */
typedef struct {
    uint64_t w, r;    /* the last write's and, while reads are ordered, the last read's epoch (0: none) */
    Info w_info, r_info;
    Reads *reads;     /* once two unordered reads met: every thread's last read */
    uint8_t mask;     /* the bytes of the granule; 0: unused */
} Entry;

typedef struct {
    Entry first;      /* first.mask == 0: the granule was never accessed */
    Entry *more;      /* entries of other masks, in the order they came */
    uint32_t nmore, capmore;
} Cell;

typedef struct {
    VC vc;
    VC created;       /* candidates (detector.py): what its creators had done when they created it */
    uint64_t seq;     /* reports made so far (the recorder's numbering, for replays) */
    uint64_t raised;  /* acquires that raised its clock */
    uint8_t has_clock;
} Thread;

/* A creation clock a spawn or fork sent, until its thread takes it (candidates). */
typedef struct { int kind; uint64_t key; VC vc; uint8_t used; } Creating;
/* A pair of sites (earlier, later) of a candidate. */
typedef struct { uint32_t a, b; } SitePair;

typedef struct {
    VC vc;
    uint64_t version; /* releases into it so far */
    uint64_t gen;     /* bumped when a handoff forgets it: older `joined` marks no longer hold */
    uint8_t present;
} Sync;

/* Per (sync key, thread): the version it last acquired, its `raised` at its last full join. */
typedef struct { uint64_t seen, joined, joined_gen; uint8_t has_seen, has_joined; } SyncThread;

typedef struct { uint8_t code; uint32_t size; uint64_t offset; } Site;

typedef struct Det {
    Thread *threads;
    uint32_t cap_threads;
    uint32_t nclocks;           /* threads with a clock (stats: "threads") */
    Sync *syncs;
    size_t nsyncs, cap_syncs, present_syncs;
    SyncThread *sts;
    size_t nsts, cap_sts;
    Map sync_map, st_map, page_map, pairs;
    uint64_t last_page_no;
    Cell *last_page;
    uint64_t accesses, sync_ops, shadow_words;
    bool solo;
    RaceBuf scratch;            /* the races of the access being checked */
    RaceBuf found;              /* races of new pairs of sites, in the order found (the recorder's) */
    Site *sites;
    size_t nsites;
    uint64_t *site_hits;        /* per site index: its plain accesses checked (race direction sizes PCT's k by them) */
    size_t cap_hits;
    bool concurrent;            /* os mode: threads report at once, `mu` serializes them */
    /* Candidates (detector.py's module docstring): pairs of conflicting accesses that thread
     * creation does not order, noted once each (race direction's discovery only). */
    bool candidates;
    Creating *creating;
    size_t ncreating;
    Map candidate_map;
    SitePair *candidate_pairs;
    size_t ncandidates, cap_candidates;
    /* A probe (probe.py): nothing is checked; the report numbered `probe_seq` of thread
     * `probe_tid` traps with `probe_message`, and its site index is kept in `probe_hit`. */
    bool probing;
    uint32_t probe_tid;
    uint64_t probe_seq;
    long long probe_hit;        /* -1: not reached */
    char *probe_message;
    pthread_mutex_t mu;
} Det;

/* detector.c */
void det_init(Det *d, bool solo, bool concurrent, bool candidates);
void det_free(Det *d);
/* Whether the last failure on this OS thread was the vector clocks' budget (and forget it). */
int det_over_budget(void);
size_t det_set_vc_budget(size_t bytes);
extern const char VC_BUDGET_MESSAGE[];
Thread *det_thread(Det *d, uint32_t tid);
VC *det_clock(Det *d, uint32_t tid);
int det_acquire(Det *d, uint32_t tid, int kind, uint64_t key);
int det_release(Det *d, uint32_t tid, int kind, uint64_t key);
int det_handoff(Det *d, uint32_t tid, int kind, uint64_t key);
int det_check(Det *d, uint32_t tid, uint64_t addr, uint64_t size, bool write, uint32_t site, uint64_t seq);
int det_report(Det *d, uint32_t tid, uint64_t addr, uint32_t site, bool is_range, uint64_t length,
               uint64_t memory_size, const char **error);
uint64_t vc_get(const VC *v, uint32_t t);

#endif
