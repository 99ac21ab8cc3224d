/* Tracebacks: see tracemalloc_tracebacks.h. */

#include "tracemalloc_tracebacks.h"

#include <string.h>

#if defined(__GNUC__)
#  define NOINLINE __attribute__((noinline))
#else
#  define NOINLINE
#endif

#if PY_MAJOR_VERSION >= 3
#  define FILENAME_CHECK PyUnicode_Check
#  define STRING_FROM_C PyUnicode_FromString
#  define INT_FROM_LONG PyLong_FromLong
#else
#  define FILENAME_CHECK PyString_Check
#  define STRING_FROM_C PyString_FromString
#  define INT_FROM_LONG PyInt_FromLong
#endif


/* ==========================================================================
 * The store
 *
 * Interned tracebacks are carved out of chunks (no malloc() per traceback
 * and no per-block overhead); an index array maps a traceback's index to its
 * address; a hash set of (hash, index) pairs finds an existing equal
 * traceback.  Code infos are carved out of the same chunks and have a hash
 * set of their own.  Nothing is ever removed: the store dies as a whole.
 */

#define CHUNK_SIZE ((size_t)32 * 1024)
/* Tracebacks are laid out at multiples of this. */
#define RECORD_ALIGNMENT sizeof(void *)

typedef struct chunk {
    struct chunk *next;
    size_t size;                /* bytes of the chunk, this header included */
} chunk_t;

typedef struct {
    uint32_t hash;
    traceback_index_t index;    /* TRACEBACK_UNKNOWN marks a free slot */
} intern_slot_t;

/* A frame refers to its code through this, not through the code object, so
 * that the store keeps no code object alive (code compiled at run time
 * would outlive its program while tracing, and its memory would show as
 * the program's).  The strings are references of the store. */
struct code_info {
    PyObject *filename;         /* co_filename */
    PyObject *lnotab;           /* co_lnotab */
    int firstlineno;            /* co_firstlineno */
};

typedef struct {
    uint32_t hash;
    code_info_t *info;          /* NULL marks a free slot */
} info_slot_t;

/* The code cache: code object address -> its info, a hint that spares the
 * capture of a frame hashing its code's strings.  Code objects die and
 * others take their addresses without the store knowing: an entry is used
 * only if its info describes the code found at the address (see
 * info_describes()). */
typedef struct {
    PyCodeObject *code;         /* NULL marks a free entry */
    const code_info_t *info;
} code_entry_t;

/* The frame cache, which spares most captures the walk and the lookup.
 *
 * Four facts make it work:
 *
 * - While a frame runs, the frames below it wait at fixed instructions, so
 *   the innermost frame and its f_lasti decide the whole traceback: the
 *   "site" cache maps such a pair to the index of the traceback.
 * - A frame's depth does not change during its life (its f_back is set when
 *   it is created or taken from a free list), so depths are cached by frame
 *   and total_nframe costs a walk down to the first frame of known depth.
 * - A frame's code does not change during its life, and the frame holds
 *   it: the info of its code is cached by frame too, which spares the walk
 *   the code cache's checks.
 * - The frames under a frame, and their f_lasti, do not change during its
 *   life either: a traceback captured earlier in that life gives them, and
 *   the walk stops at the first frame that knows one (the "below" of its
 *   entry), copying the rest.
 *
 * They hold during one life of a frame.  The tracer reports every address
 * where a frame may start a new life (traceback_forget_frame()); each life
 * of a frame gets a new stamp in its frame entry, and a site entry is valid
 * only while its frame's entry has the stamp it was recorded with.
 * Generator frames break all but the third fact (their f_back changes
 * whenever they resume): their entries keep no depth and no traceback
 * below, and they get no sites.  Colliding entries simply evict each
 * other.
 */

#define FRAME_CACHE_BITS 9
#define SITE_CACHE_BITS 9
#define CODE_CACHE_BITS 8

typedef struct {
    PyFrameObject *frame;       /* NULL marks a free entry */
    size_t stamp;               /* of this life of the frame */
    size_t depth;               /* frames from it to the bottom; 0: unknown */
    const code_info_t *info;    /* of its code; NULL: not known yet */
    /* the frames under it are those of traceback `below` from position
       `below_at` on; TRACEBACK_UNKNOWN: not known yet */
    traceback_index_t below;
    uint32_t below_at;
} frame_entry_t;

typedef struct {
    PyFrameObject *frame;
    size_t stamp;               /* the frame entry's, when recorded */
    Py_ssize_t lasti;
    traceback_index_t index;
} site_entry_t;

struct traceback_store {
    Py_ssize_t refcnt;
    tracer_heap_t heap;

    /* index -> traceback; tracebacks[TRACEBACK_UNKNOWN] is `unknown` */
    traceback_t **tracebacks;
    size_t count;
    size_t capacity;

    /* open addressing, linear probing, at most half full */
    intern_slot_t *intern;
    size_t intern_capacity;     /* a power of two */
    unsigned int intern_shift;  /* 32 - log2(intern_capacity) */

    chunk_t *chunks;            /* the newest first */
    char *chunk_free;           /* free room in the newest chunk */
    size_t chunk_left;

    /* code infos: open addressing, linear probing, at most half full */
    info_slot_t *infos;
    size_t info_count;
    size_t info_capacity;       /* a power of two */
    unsigned int info_shift;    /* 32 - log2(info_capacity) */

    trace_table_t reused;       /* object address -> traceback */

    frame_entry_t frames[1 << FRAME_CACHE_BITS];
    site_entry_t sites[1 << SITE_CACHE_BITS];
    size_t stamps;              /* the last stamp given */
    code_entry_t codes[1 << CODE_CACHE_BITS];
};

/* The unknown traceback: one frame without a code object. */
static traceback_t unknown_traceback = {0, 1, 1, {{NULL, 0}}};

static PyObject *unknown_filename = NULL;

#define INITIAL_CAPACITY 64     /* of the index array and the hash set */

traceback_store_t *
traceback_store_new(const PyMemAllocatorEx *allocator, size_t *used)
{
    tracer_heap_t heap;
    traceback_store_t *store;

    heap.allocator = *allocator;
    heap.used = used;
    store = (traceback_store_t *)tracer_heap_alloc(&heap, 1, sizeof(*store),
                                                   1);
    if (store == NULL) {
        return NULL;
    }
    store->refcnt = 1;
    store->heap = heap;
    store->tracebacks = (traceback_t **)tracer_heap_alloc(
        &store->heap, INITIAL_CAPACITY, sizeof(traceback_t *), 0);
    store->intern = (intern_slot_t *)tracer_heap_alloc(
        &store->heap, INITIAL_CAPACITY, sizeof(intern_slot_t), 1);
    store->infos = (info_slot_t *)tracer_heap_alloc(
        &store->heap, INITIAL_CAPACITY, sizeof(info_slot_t), 1);
    store->capacity = INITIAL_CAPACITY;
    store->intern_capacity = INITIAL_CAPACITY;
    store->info_capacity = INITIAL_CAPACITY;
    if (store->tracebacks == NULL || store->intern == NULL
        || store->infos == NULL) {
        traceback_store_decref(store);
        return NULL;
    }
    store->tracebacks[TRACEBACK_UNKNOWN] = &unknown_traceback;
    store->count = 1;
    store->intern_shift = 32 - 6;
    store->info_shift = 32 - 6;
    return store;
}

void
traceback_store_incref(traceback_store_t *store)
{
    store->refcnt++;
}

void
traceback_store_decref(traceback_store_t *store)
{
    tracer_heap_t heap;
    chunk_t *chunk;
    size_t i;

    assert(store->refcnt > 0);
    if (--store->refcnt > 0) {
        return;
    }

    /* Nothing points to the store any more, so code run by the DECREFs
       (the tracer's hooks, when strings are freed) cannot see it.  The
       store's memory is freed only after the last DECREF. */
    for (i = 0; store->infos != NULL && i < store->info_capacity; i++) {
        code_info_t *info = store->infos[i].info;
        if (info != NULL) {
            Py_DECREF(info->filename);
            Py_DECREF(info->lnotab);
        }
    }

    heap = store->heap;
    chunk = store->chunks;
    while (chunk != NULL) {
        chunk_t *next = chunk->next;
        tracer_heap_free(&heap, chunk, chunk->size);
        chunk = next;
    }
    tracer_heap_free(&heap, store->tracebacks,
                     store->capacity * sizeof(traceback_t *));
    tracer_heap_free(&heap, store->intern,
                     store->intern_capacity * sizeof(intern_slot_t));
    tracer_heap_free(&heap, store->infos,
                     store->info_capacity * sizeof(info_slot_t));
    trace_table_clear(&store->reused, &heap);
    tracer_heap_free(&heap, store, sizeof(*store));
}

size_t
traceback_store_count(const traceback_store_t *store)
{
    return store != NULL ? store->count : 1;
}


/* --------------------------------------------------------------------------
 * Growing the store: each step either succeeds or leaves the store as it
 * was, so that a failure in the middle of interning corrupts nothing.
 */

/* Make room for one more index. */
static int
reserve_index(traceback_store_t *store)
{
    traceback_t **tracebacks;
    size_t capacity;

    if (store->count < store->capacity) {
        return 0;
    }
    /* indexes must stay below TRACEBACK_FAILED */
    if (store->capacity >= (size_t)TRACEBACK_FAILED / 2) {
        return -1;
    }
    capacity = 2 * store->capacity;
    tracebacks = (traceback_t **)tracer_heap_alloc(
        &store->heap, capacity, sizeof(traceback_t *), 0);
    if (tracebacks == NULL) {
        return -1;
    }
    memcpy(tracebacks, store->tracebacks,
           store->count * sizeof(traceback_t *));
    tracer_heap_free(&store->heap, store->tracebacks,
                     store->capacity * sizeof(traceback_t *));
    store->tracebacks = tracebacks;
    store->capacity = capacity;
    return 0;
}

static size_t
intern_home(const traceback_store_t *store, uint32_t hash)
{
    return (size_t)((uint32_t)(hash * 0x9E3779B9u) >> store->intern_shift);
}

static intern_slot_t *
intern_free_slot(const traceback_store_t *store, uint32_t hash)
{
    size_t mask = store->intern_capacity - 1;
    size_t i = intern_home(store, hash);

    while (store->intern[i].index != TRACEBACK_UNKNOWN) {
        i = (i + 1) & mask;
    }
    return &store->intern[i];
}

/* Make room for one more interned traceback (the set stays half empty). */
static int
reserve_intern_slot(traceback_store_t *store)
{
    intern_slot_t *old = store->intern;
    size_t old_capacity = store->intern_capacity;
    size_t i;

    /* count - 1 tracebacks are in the set */
    if (2 * store->count <= store->intern_capacity) {
        return 0;
    }
    if (old_capacity >= ((size_t)1 << 31)) {
        return -1;
    }
    store->intern = (intern_slot_t *)tracer_heap_alloc(
        &store->heap, 2 * old_capacity, sizeof(intern_slot_t), 1);
    if (store->intern == NULL) {
        store->intern = old;
        return -1;
    }
    store->intern_capacity = 2 * old_capacity;
    store->intern_shift--;
    for (i = 0; i < old_capacity; i++) {
        if (old[i].index != TRACEBACK_UNKNOWN) {
            *intern_free_slot(store, old[i].hash) = old[i];
        }
    }
    tracer_heap_free(&store->heap, old, old_capacity * sizeof(intern_slot_t));
    return 0;
}

/* Carve `size` bytes out of the chunks. */
static void *
chunk_alloc(traceback_store_t *store, size_t size)
{
    chunk_t *chunk;
    size_t header = (sizeof(chunk_t) + RECORD_ALIGNMENT - 1)
                    / RECORD_ALIGNMENT * RECORD_ALIGNMENT;
    size_t chunk_size;
    void *ptr;

    size = (size + RECORD_ALIGNMENT - 1) / RECORD_ALIGNMENT
           * RECORD_ALIGNMENT;
    if (size > store->chunk_left) {
        /* A traceback bigger than a quarter of a chunk gets a chunk of its
           own, so that the free room of the current chunk is not lost. */
        if (size > CHUNK_SIZE / 4) {
            chunk_size = header + size;
        }
        else {
            chunk_size = CHUNK_SIZE;
        }
        chunk = (chunk_t *)tracer_heap_alloc(&store->heap, 1, chunk_size, 0);
        if (chunk == NULL) {
            return NULL;
        }
        chunk->size = chunk_size;
        if (chunk_size != CHUNK_SIZE && store->chunks != NULL) {
            /* keep the current chunk first: it still has room */
            chunk->next = store->chunks->next;
            store->chunks->next = chunk;
            return (char *)chunk + header;
        }
        chunk->next = store->chunks;
        store->chunks = chunk;
        store->chunk_free = (char *)chunk + header;
        store->chunk_left = chunk_size - header;
    }
    ptr = store->chunk_free;
    store->chunk_free += size;
    store->chunk_left -= size;
    return ptr;
}

static size_t
info_home(const traceback_store_t *store, uint32_t hash)
{
    return (size_t)((uint32_t)(hash * 0x9E3779B9u) >> store->info_shift);
}

static info_slot_t *
info_free_slot(const traceback_store_t *store, uint32_t hash)
{
    size_t mask = store->info_capacity - 1;
    size_t i = info_home(store, hash);

    while (store->infos[i].info != NULL) {
        i = (i + 1) & mask;
    }
    return &store->infos[i];
}

/* Make room for one more code info (the set stays half empty). */
static int
reserve_info_slot(traceback_store_t *store)
{
    info_slot_t *old = store->infos;
    size_t old_capacity = store->info_capacity;
    size_t i;

    if (2 * (store->info_count + 1) <= store->info_capacity) {
        return 0;
    }
    if (old_capacity >= ((size_t)1 << 31)) {
        return -1;
    }
    store->infos = (info_slot_t *)tracer_heap_alloc(
        &store->heap, 2 * old_capacity, sizeof(info_slot_t), 1);
    if (store->infos == NULL) {
        store->infos = old;
        return -1;
    }
    store->info_capacity = 2 * old_capacity;
    store->info_shift--;
    for (i = 0; i < old_capacity; i++) {
        if (old[i].info != NULL) {
            *info_free_slot(store, old[i].hash) = old[i];
        }
    }
    tracer_heap_free(&store->heap, old, old_capacity * sizeof(info_slot_t));
    return 0;
}


/* Hashes of pointers and tracebacks: multiplications carry low bits
 * upward, the final fold brings the high bits back down. */

#if SIZEOF_VOID_P == 8
#  define HASH_MULTIPLIER ((uintptr_t)0x9E3779B97F4A7C15ULL)
#else
#  define HASH_MULTIPLIER ((uintptr_t)0x9E3779B9UL)
#endif

static uint32_t
fold_hash(uintptr_t hash)
{
#if SIZEOF_VOID_P == 8
    hash ^= hash >> 32;
#endif
    return (uint32_t)(hash ^ (hash >> 16));
}


/* ==========================================================================
 * Code infos
 *
 * Equal code infos are one: the code objects that a program compiles again
 * and again from the same source (exec() in a loop, namedtuple(), template
 * engines) share an info, and so do their tracebacks, so that the store
 * stops growing.
 *
 * Strings of the exact built-in types are compared by value: the object
 * keeps its hash once computed, and computing it runs no Python code and
 * allocates nothing (a capture runs inside an allocator hook).  Others, of
 * subclasses (or 3.3 strings not yet made ready), are compared by identity,
 * which is sound since the store holds a reference to the strings of its
 * infos: no other object can have their address while the store lives.
 */

static int
by_value(PyObject *s)
{
#if PY_MAJOR_VERSION >= 3
    return PyBytes_CheckExact(s)
           || (PyUnicode_CheckExact(s) && PyUnicode_IS_READY(s));
#else
    return PyString_CheckExact(s);
#endif
}

static uintptr_t
string_hash(PyObject *s)
{
    return by_value(s) ? (uintptr_t)PyObject_Hash(s) : (uintptr_t)s;
}

static int
same_string(PyObject *a, PyObject *b)
{
    const void *data_a, *data_b;
    Py_ssize_t size;

    if (a == b) {
        return 1;
    }
    if (Py_TYPE(a) != Py_TYPE(b) || !by_value(a) || !by_value(b)
        || PyObject_Hash(a) != PyObject_Hash(b)) {
        return 0;
    }
#if PY_MAJOR_VERSION >= 3
    if (PyUnicode_Check(a)) {
        /* a ready string has the narrowest kind its characters allow */
        if (PyUnicode_KIND(a) != PyUnicode_KIND(b)
            || PyUnicode_GET_LENGTH(a) != PyUnicode_GET_LENGTH(b)) {
            return 0;
        }
        data_a = PyUnicode_DATA(a);
        data_b = PyUnicode_DATA(b);
        size = PyUnicode_GET_LENGTH(a) * PyUnicode_KIND(a);
        return memcmp(data_a, data_b, (size_t)size) == 0;
    }
#endif
    if (PyBytes_GET_SIZE(a) != PyBytes_GET_SIZE(b)) {
        return 0;
    }
    data_a = PyBytes_AS_STRING(a);
    data_b = PyBytes_AS_STRING(b);
    size = PyBytes_GET_SIZE(a);
    return memcmp(data_a, data_b, (size_t)size) == 0;
}

/* Does `info` give the filename and line numbers of `code`?  Usually the
 * strings are the code's own, and three comparisons say so. */
static int
info_describes(const code_info_t *info, const PyCodeObject *code)
{
    return (info->firstlineno == code->co_firstlineno
            && (info->lnotab == code->co_lnotab
                || same_string(info->lnotab, code->co_lnotab))
            && (info->filename == code->co_filename
                || same_string(info->filename, code->co_filename)));
}

static uint32_t
code_hash(PyCodeObject *code)
{
    uintptr_t hash = string_hash(code->co_filename) * HASH_MULTIPLIER;

    hash = (hash ^ string_hash(code->co_lnotab)) * HASH_MULTIPLIER;
    hash = (hash ^ (uintptr_t)code->co_firstlineno) * HASH_MULTIPLIER;
    return fold_hash(hash);
}

/* The info of `code`, found by value or added; NULL if memory is
 * exhausted. */
static const code_info_t *
intern_code_info(traceback_store_t *store, PyCodeObject *code)
{
    uint32_t hash = code_hash(code);
    size_t mask = store->info_capacity - 1;
    size_t i = info_home(store, hash);
    code_info_t *info;
    info_slot_t *slot;

    for (; store->infos[i].info != NULL; i = (i + 1) & mask) {
        if (store->infos[i].hash == hash
            && info_describes(store->infos[i].info, code)) {
            return store->infos[i].info;
        }
    }
    if (reserve_info_slot(store) < 0) {
        return NULL;
    }
    info = (code_info_t *)chunk_alloc(store, sizeof(code_info_t));
    if (info == NULL) {
        return NULL;
    }
    Py_INCREF(code->co_filename);
    info->filename = code->co_filename;
    Py_INCREF(code->co_lnotab);
    info->lnotab = code->co_lnotab;
    info->firstlineno = code->co_firstlineno;
    slot = info_free_slot(store, hash);
    slot->hash = hash;
    slot->info = info;
    store->info_count++;
    return info;
}

/* The line of the instruction at `lasti`, as PyCode_Addr2Line() computes
 * it: co_lnotab is a string of (bytecode increment, line increment) byte
 * pairs. */
static int
info_lineno(const code_info_t *info, Py_ssize_t lasti)
{
    const unsigned char *pair, *end;
    Py_ssize_t addr = 0;
    int line = info->firstlineno;

    if (!PyBytes_Check(info->lnotab)) {
        return line;
    }
    pair = (const unsigned char *)PyBytes_AS_STRING(info->lnotab);
    end = pair + PyBytes_GET_SIZE(info->lnotab) / 2 * 2;
    for (; pair < end; pair += 2) {
        addr += pair[0];
        if (addr > lasti) {
            break;
        }
        line += pair[1];
    }
    return line;
}


/* ==========================================================================
 * Capturing tracebacks
 */

static int
is_generator(PyFrameObject *frame)
{
    return (frame->f_code->co_flags & CO_GENERATOR) != 0;
}

static size_t
cache_index(uintptr_t key, unsigned int bits)
{
    return (size_t)((key * HASH_MULTIPLIER) >> (8 * sizeof(uintptr_t) - bits));
}

static frame_entry_t *
frame_slot(traceback_store_t *store, PyFrameObject *frame)
{
    return &store->frames[cache_index((uintptr_t)frame, FRAME_CACHE_BITS)];
}

static site_entry_t *
site_slot(traceback_store_t *store, PyFrameObject *frame, Py_ssize_t lasti)
{
    return &store->sites[cache_index((uintptr_t)frame + (uintptr_t)lasti,
                                     SITE_CACHE_BITS)];
}

/* The info of `code` (NULL if memory is exhausted): the code cache, else
 * the hash set. */
static const code_info_t *
code_info(traceback_store_t *store, PyCodeObject *code)
{
    code_entry_t *entry = &store->codes[cache_index((uintptr_t)code,
                                                    CODE_CACHE_BITS)];
    const code_info_t *info;

    if (entry->code == code && info_describes(entry->info, code)) {
        return entry->info;
    }
    info = intern_code_info(store, code);
    if (info != NULL) {
        entry->code = code;
        entry->info = info;
    }
    return info;
}

/* The entry of `frame` (live), made if needed. */
static frame_entry_t *
frame_entry(traceback_store_t *store, PyFrameObject *frame)
{
    frame_entry_t *entry = frame_slot(store, frame);

    if (entry->frame != frame) {
        entry->frame = frame;
        entry->stamp = ++store->stamps;
        entry->depth = 0;
        entry->info = NULL;
        entry->below = TRACEBACK_UNKNOWN;
    }
    return entry;
}

/* The info of the code that `frame` (live) runs, when its frame entry does
 * not have it; NULL if memory is exhausted.  Out of line, so that the walk
 * of capture_frames() keeps its variables in registers. */
static NOINLINE const code_info_t *
frame_code_info(traceback_store_t *store, PyFrameObject *frame)
{
    const code_info_t *info = code_info(store, frame->f_code);

    if (info != NULL) {
        frame_entry(store, frame)->info = info;
    }
    return info;
}

void
traceback_forget_frame(traceback_store_t *store, const void *frame)
{
    frame_entry_t *entry = frame_slot(store, (PyFrameObject *)frame);

    if (entry->frame == frame) {
        entry->frame = NULL;
    }
}

/* The number of frames from `frame` to the bottom of its stack: a walk
 * down to the first frame of known depth. */
static size_t
stack_depth(traceback_store_t *store, PyFrameObject *frame)
{
    PyFrameObject *start = frame;
    frame_entry_t *entry;
    size_t steps = 0;
    size_t depth;

    if (frame == NULL) {
        return 0;
    }
    for (;;) {
        entry = frame_slot(store, frame);
        if (entry->frame == frame && entry->depth != 0) {
            depth = steps + entry->depth;
            break;
        }
        steps++;
        frame = frame->f_back;
        if (frame == NULL) {
            depth = steps;
            break;
        }
    }
    if (!is_generator(start)) {
        frame_entry(store, start)->depth = depth;
    }
    return depth;
}

/* Copy the (code info, f_lasti) pairs of the innermost `max_nframe` frames
 * of `tstate` into `buffer`, count the frames, and hash the result.  Return
 * -1 if a code info cannot be added.  One pass, one multiplication per
 * frame.
 *
 * *learner is set to the first frame of the walk that is not a
 * generator's and does not know the frames under it (NULL if none), and
 * *learner_at to the position after it: once the traceback is interned,
 * that frame can learn them. */
static int
capture_frames(traceback_store_t *store, PyThreadState *tstate,
               traceback_t *buffer, int max_nframe,
               PyFrameObject **learner, size_t *learner_at)
{
    PyFrameObject *frame = tstate->frame;
    frame_t *first = buffer->frames;
    frame_t *out = first;
    frame_t *end = out + max_nframe;
    uintptr_t hash = 0;
    size_t nframe;
    size_t total = 0;           /* 0: the walk must count the frames */

    *learner = NULL;
    for (; frame != NULL && out < end; frame = frame->f_back) {
        frame_entry_t *entry = frame_slot(store, frame);

        if ((entry->frame != frame || entry->info == NULL)
            && frame_code_info(store, frame) == NULL) {
            return -1;
        }
        out->code = entry->info;
        out->lasti = frame->f_lasti;
        hash = (hash ^ (uintptr_t)out->code) * HASH_MULTIPLIER
               + (uintptr_t)out->lasti;
        out++;

        nframe = (size_t)(out - first);
        if (entry->below != TRACEBACK_UNKNOWN && nframe >= entry->below_at) {
            /* The frames under this one, from a traceback captured when it
               was at the same or a deeper position: it has enough. */
            const traceback_t *earlier = store->tracebacks[entry->below];
            const frame_t *from = earlier->frames + entry->below_at;
            const frame_t *stop = earlier->frames + earlier->nframe;

            for (; from < stop && out < end; from++, out++) {
                *out = *from;
                hash = (hash ^ (uintptr_t)out->code) * HASH_MULTIPLIER
                       + (uintptr_t)out->lasti;
            }
            /* (a saturated total stays saturated) */
            total = earlier->total_nframe + nframe - entry->below_at;
            break;
        }
        if (*learner == NULL && !is_generator(frame)) {
            *learner = frame;
            *learner_at = nframe;
        }
    }
    nframe = (size_t)(out - first);

    /* CPython counts the whole stack, up to 65535 frames */
    if (total == 0) {
        total = nframe + stack_depth(store, frame);
    }
    if (total > 0xFFFF) {
        total = 0xFFFF;
    }

    hash = (hash ^ total) * HASH_MULTIPLIER;
    buffer->hash = fold_hash(hash);
    buffer->nframe = (uint16_t)nframe;
    buffer->total_nframe = (uint16_t)total;
    return 0;
}

/* Find or add the traceback of `buffer` in the store. */
static traceback_index_t
intern_buffer(traceback_store_t *store, const traceback_t *buffer)
{
    size_t mask = store->intern_capacity - 1;
    size_t size = TRACEBACK_SIZE(buffer->nframe);
    size_t i;
    traceback_t *copy;
    intern_slot_t *slot;

    for (i = intern_home(store, buffer->hash);
         store->intern[i].index != TRACEBACK_UNKNOWN;
         i = (i + 1) & mask) {
        if (store->intern[i].hash == buffer->hash
            && memcmp(store->tracebacks[store->intern[i].index], buffer,
                      size) == 0) {
            return store->intern[i].index;
        }
    }

    /* A new traceback: reserve everything, then commit. */
    if (reserve_index(store) < 0 || reserve_intern_slot(store) < 0) {
        return TRACEBACK_FAILED;
    }
    copy = (traceback_t *)chunk_alloc(store, size);
    if (copy == NULL) {
        return TRACEBACK_FAILED;
    }
    memcpy(copy, buffer, size);
    store->tracebacks[store->count] = copy;
    slot = intern_free_slot(store, copy->hash);
    slot->hash = copy->hash;
    slot->index = (traceback_index_t)store->count;
    store->count++;
    return (traceback_index_t)(store->count - 1);
}

/* Capture the stack into `buffer` and find or add the traceback in the
 * store. */
static traceback_index_t
intern_traceback(traceback_store_t *store, PyThreadState *tstate,
                 traceback_t *buffer, int max_nframe)
{
    PyFrameObject *learner;
    size_t learner_at = 0;
    traceback_index_t index;
    frame_entry_t *entry;

    if (capture_frames(store, tstate, buffer, max_nframe, &learner,
                       &learner_at) < 0) {
        return TRACEBACK_FAILED;
    }
    index = intern_buffer(store, buffer);
    if (index != TRACEBACK_FAILED && learner != NULL) {
        entry = frame_entry(store, learner);
        entry->below = index;
        entry->below_at = (uint32_t)learner_at;
    }
    return index;
}

traceback_index_t
traceback_store_capture(traceback_store_t *store, PyThreadState *tstate,
                        traceback_t *buffer, int max_nframe)
{
    PyFrameObject *frame = tstate->frame;
    frame_entry_t *entry;
    site_entry_t *site;
    traceback_index_t index;

    if (frame == NULL) {
        return TRACEBACK_UNKNOWN;
    }
    if (is_generator(frame)) {
        return intern_traceback(store, tstate, buffer, max_nframe);
    }

    /* The same frame allocating again at the same instruction: the same
       traceback. */
    entry = frame_slot(store, frame);
    site = site_slot(store, frame, frame->f_lasti);
    if (entry->frame == frame && site->frame == frame
        && site->lasti == frame->f_lasti && site->stamp == entry->stamp) {
        return site->index;
    }

    index = intern_traceback(store, tstate, buffer, max_nframe);
    if (index != TRACEBACK_FAILED) {
        /* (interning may have evicted the frame's entry) */
        entry = frame_entry(store, frame);
        site->frame = frame;
        site->lasti = frame->f_lasti;
        site->stamp = entry->stamp;
        site->index = index;
    }
    return index;
}


/* ==========================================================================
 * From a traceback to Python objects
 */

static traceback_t *
get_traceback(traceback_store_t *store, traceback_index_t index)
{
    if (index == TRACEBACK_UNKNOWN) {
        return &unknown_traceback;
    }
    assert(store != NULL && index < store->count);
    return store->tracebacks[index];
}

unsigned int
traceback_store_total_nframe(traceback_store_t *store,
                             traceback_index_t index)
{
    return get_traceback(store, index)->total_nframe;
}

static PyObject *
frame_to_tuple(const frame_t *frame)
{
    PyObject *filename;
    int lineno = 0;
    PyObject *lineno_obj;
    PyObject *tuple;

    if (frame->code != NULL && FILENAME_CHECK(frame->code->filename)) {
        filename = frame->code->filename;
        lineno = info_lineno(frame->code, frame->lasti);
        if (lineno < 0) {
            lineno = 0;
        }
    }
    else {
        if (unknown_filename == NULL) {
            unknown_filename = STRING_FROM_C("<unknown>");
            if (unknown_filename == NULL) {
                return NULL;
            }
        }
        filename = unknown_filename;
    }

    lineno_obj = INT_FROM_LONG(lineno);
    if (lineno_obj == NULL) {
        return NULL;
    }
    tuple = PyTuple_New(2);
    if (tuple == NULL) {
        Py_DECREF(lineno_obj);
        return NULL;
    }
    Py_INCREF(filename);
    PyTuple_SET_ITEM(tuple, 0, filename);
    PyTuple_SET_ITEM(tuple, 1, lineno_obj);
    return tuple;
}

PyObject *
traceback_store_frames(traceback_store_t *store, traceback_index_t index)
{
    /* The traceback does not move while Python objects are created (which
       may intern new tracebacks): it lives in a chunk of a store that the
       caller holds a reference to. */
    const traceback_t *traceback = get_traceback(store, index);
    PyObject *frames;
    PyObject *frame;
    int i;

    frames = PyTuple_New(traceback->nframe);
    if (frames == NULL) {
        return NULL;
    }
    for (i = 0; i < traceback->nframe; i++) {
        frame = frame_to_tuple(&traceback->frames[i]);
        if (frame == NULL) {
            Py_DECREF(frames);
            return NULL;
        }
        PyTuple_SET_ITEM(frames, i, frame);
    }
    return frames;
}


/* ==========================================================================
 * Objects handed out again by free lists
 */

int
traceback_store_set_reused(traceback_store_t *store, uintptr_t address,
                           traceback_index_t index)
{
    int replaced;
    size_t old_size;

    return trace_table_set(&store->reused, &store->heap, address, index, 0,
                           &replaced, &old_size);
}

int
traceback_store_get_reused(traceback_store_t *store, uintptr_t address,
                           traceback_index_t *index)
{
    return trace_table_get(&store->reused, address, index, NULL);
}
