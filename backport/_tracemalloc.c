/* _tracemalloc: trace memory blocks allocated by Python (PEP 454).
 *
 * Built as an extension module against an interpreter that carries the
 * PEP 445 backport (Py_PEP445_BACKPORT).  When tracing, the tracer's hooks
 * sit on top of the three allocator domains (RAW, MEM, OBJ): each
 * allocation records a trace (block address -> size, traceback) and each
 * free removes it.  The Python-visible functions are those of CPython's
 * private module, which tracemalloc.py is written against.
 *
 * Sections, in the order data flows:
 *   tracer state (and which lock protects what)
 *   thread-local state, tables lock, fork
 *   traceback capture
 *   adding and removing traces
 *   allocator hooks, free-list reuse hook
 *   start, stop, clear
 *   C API (PyTraceMalloc_Track/Untrack)
 *   Python functions, module init
 *
 * The tables live in tracemalloc_tables.c, tracebacks in
 * tracemalloc_tracebacks.c.
 */

#include "Python.h"
#include "frameobject.h"
#include "pythread.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#define PYTRACEMALLOC_MODULE
#include "pytracemalloc.h"
#include "tracemalloc_tables.h"
#include "tracemalloc_tracebacks.h"

#ifndef Py_PEP445_BACKPORT
#  error "_tracemalloc needs a Python interpreter patched with the PEP 445 backport of tracemalloc-backport"
#endif

/* The state of the thread holding the GIL, without the checks of
 * PyThreadState_Get(). */
#if PY_VERSION_HEX >= 0x03050200
#  define CURRENT_TSTATE() _PyThreadState_UncheckedGet()
#elif PY_MAJOR_VERSION >= 3
#  define CURRENT_TSTATE() \
       ((PyThreadState *)_Py_atomic_load_relaxed(&_PyThreadState_Current))
#else
#  define CURRENT_TSTATE() (_PyThreadState_Current)
#endif

#if PY_MAJOR_VERSION >= 3
#  define INT_FROM_SIZE_T PyLong_FromSize_t
#  define INT_FROM_LONG PyLong_FromLong
#else
#  define INT_FROM_SIZE_T PyInt_FromSize_t
#  define INT_FROM_LONG PyInt_FromLong
#endif

/* The domain of the interpreter's own allocations. */
#define DEFAULT_DOMAIN 0


/* ==========================================================================
 * Tracer state
 *
 * Two locks protect it:
 *
 * - The GIL protects what only threads running Python code use: the
 *   traceback store, the frame buffer, the frame limit.  RAW allocations
 *   made without the GIL get the unknown traceback and never touch these.
 *   start(), stop() and clear_traces() run with the GIL, so a thread that
 *   holds the GIL sees `tracing` stable.
 *
 * - The tables lock protects what every allocation touches: the trace
 *   tables, the counters and `tracing` itself (written with both locks
 *   held, so reading it under either is enough; a hook may also peek at it
 *   without any lock as a hint, and then checks again under the lock).
 */

typedef struct {
    unsigned int domain;
    trace_table_t traces;
} domain_traces_t;

static struct {
    /* --- Written by start() only; read by the hooks --- */

    /* The allocators found at start(): the hooks call them, and the
       tracer's own memory comes from `raw`.  They stay valid after stop(),
       for a hook that another thread entered just before it. */
    PyMemAllocatorEx raw;
    PyMemAllocatorEx mem;
    PyMemAllocatorEx obj;

    /* --- Protected by the GIL --- */

    int max_nframe;
    traceback_t *frame_buffer;      /* room for max_nframe frames */
    size_t frame_buffer_size;
    traceback_store_t *store;       /* NULL until a traceback is interned */
    size_t store_memory;            /* of every live store */

    /* --- Protected by the tables lock --- */

    int tracing;
    /* Incremented whenever the tables are emptied: a thread that took a
       trace out to put it back later (realloc) checks that its traceback
       index still belongs to the current store. */
    unsigned long generation;
    tracer_heap_t heap;             /* for everything below, and for
                                       the frame buffer */
    size_t heap_memory;
    trace_table_t traces;           /* DEFAULT_DOMAIN */
    domain_traces_t *domains;       /* the other domains */
    size_t ndomains;
    size_t domains_capacity;
    size_t traced;                  /* bytes, every domain */
    size_t peak;
    size_t dropped;
} tracer;


/* ==========================================================================
 * Thread-local state: reentrancy guard, thread id
 *
 * The guard is set while a hook runs the allocator below it: pymalloc sends
 * big requests to PyMem_RawMalloc(), and that nested call must not trace
 * the block a second time.  Thread-local, since RAW calls come from threads
 * that do not hold the GIL.
 *
 * The thread id is cached because the RAW and MEM hooks compare it with the
 * GIL holder's at every call (see gil_holder_state()).
 */

#if defined(__GNUC__) && !defined(TRACER_PTHREAD_KEY_GUARD)

/* The initial-exec model makes an access one instruction instead of a call
 * to __tls_get_addr(); glibc keeps room in the static TLS block for a few
 * such variables of dlopen()ed libraries. */
static __thread int reentrant __attribute__((tls_model("initial-exec")));

static int
guard_init(void)
{
    return 0;
}

static int
get_reentrant(void)
{
    return reentrant;
}

static void
set_reentrant(int value)
{
    reentrant = value;
}

/* The calling thread's PyThread_get_thread_ident(), 0 until known. */
static __thread long thread_ident __attribute__((tls_model("initial-exec")));

static long
get_thread_ident(void)
{
    if (thread_ident == 0) {
        thread_ident = PyThread_get_thread_ident();
    }
    return thread_ident;
}

#else

static pthread_key_t reentrant_key;

static int
guard_init(void)
{
    return pthread_key_create(&reentrant_key, NULL) == 0 ? 0 : -1;
}

static int
get_reentrant(void)
{
    return pthread_getspecific(reentrant_key) != NULL;
}

static void
set_reentrant(int value)
{
    /* any non-NULL pointer means "set" */
    (void)pthread_setspecific(reentrant_key,
                              value ? (void *)&reentrant_key : NULL);
}

static long
get_thread_ident(void)
{
    return PyThread_get_thread_ident();
}

#endif


/* ==========================================================================
 * Tables lock, and fork()
 *
 * Every allocation takes the lock twice (to add a trace, and to remove it
 * when the block is freed), for a table operation of a few dozen
 * instructions, and hardly ever finds it taken: only threads without the GIL
 * compete with the GIL holder.  With gcc it is a spin lock built on an
 * atomic exchange, inlined, which costs a fraction of a pthread mutex; a
 * waiter yields the processor, since the holder may be growing a table.
 * Define TRACER_PTHREAD_MUTEX for a pthread mutex instead.  The lock is
 * never held while calling back into Python.
 *
 * fork() copies the lock as it is: if another thread held it, the child
 * would wait forever.  The handlers below take it around fork(), so the
 * child starts with a consistent, free lock and goes on tracing.
 */

#if defined(__GNUC__) && !defined(TRACER_PTHREAD_MUTEX)

static volatile int tables_spinlock = 0;

static void
tables_lock(void)
{
    while (__sync_lock_test_and_set(&tables_spinlock, 1)) {
        sched_yield();
    }
}

static void
tables_unlock(void)
{
    __sync_lock_release(&tables_spinlock);
}

#else

static pthread_mutex_t tables_mutex = PTHREAD_MUTEX_INITIALIZER;

static void
tables_lock(void)
{
    pthread_mutex_lock(&tables_mutex);
}

static void
tables_unlock(void)
{
    pthread_mutex_unlock(&tables_mutex);
}

#endif

static void
fork_prepare(void)
{
    tables_lock();
}

static void
fork_parent(void)
{
    tables_unlock();
}

static void
fork_child(void)
{
    /* The child's only thread is the one that locked it. */
    tables_unlock();
}


/* ==========================================================================
 * Traceback capture
 */

/* Return the calling thread's state if it holds the GIL, else NULL.
 *
 * _PyThreadState_Current is the state of the thread holding the GIL (or
 * NULL); comparing its thread id with ours tells whether that is us,
 * without 2.7's lock-protected thread-local emulation, which allocates.
 * (A thread without the GIL may read a state that its owner is freeing:
 * the read may then see garbage, which cannot equal our id for long enough
 * to matter; PyThreadState is an ordinary heap block, never unmapped.) */
static PyThreadState *
gil_holder_state(void)
{
    PyThreadState *tstate = CURRENT_TSTATE();

    if (tstate == NULL || tstate->thread_id != get_thread_ident()) {
        return NULL;
    }
    return tstate;
}

/* Intern the traceback of `tstate` (a thread holding the GIL, or NULL).
 * Return TRACEBACK_FAILED if the tracer is out of memory. */
static traceback_index_t
current_traceback(PyThreadState *tstate)
{
    if (tstate == NULL || tstate->frame == NULL) {
        return TRACEBACK_UNKNOWN;
    }
    if (tracer.store == NULL) {
        tracer.store = traceback_store_new(&tracer.raw,
                                           &tracer.store_memory);
        if (tracer.store == NULL) {
            return TRACEBACK_FAILED;
        }
    }
    return traceback_store_capture(tracer.store, tstate,
                                   tracer.frame_buffer, tracer.max_nframe);
}


/* ==========================================================================
 * Adding and removing traces (tables lock held, tracing on)
 */

/* Return the trace table of `domain`, creating it if `create` is true;
 * NULL if it does not exist or cannot be created. */
static trace_table_t *
domain_table(unsigned int domain, int create)
{
    size_t i;

    if (domain == DEFAULT_DOMAIN) {
        return &tracer.traces;
    }
    for (i = 0; i < tracer.ndomains; i++) {
        if (tracer.domains[i].domain == domain) {
            return &tracer.domains[i].traces;
        }
    }
    if (!create) {
        return NULL;
    }
    if (tracer.ndomains == tracer.domains_capacity) {
        size_t capacity = tracer.domains_capacity
                          ? 2 * tracer.domains_capacity : 4;
        domain_traces_t *domains;

        domains = (domain_traces_t *)tracer_heap_alloc(
            &tracer.heap, capacity, sizeof(domain_traces_t), 0);
        if (domains == NULL) {
            return NULL;
        }
        if (tracer.ndomains != 0) {
            memcpy(domains, tracer.domains,
                   tracer.ndomains * sizeof(domain_traces_t));
        }
        tracer_heap_free(&tracer.heap, tracer.domains,
                         tracer.domains_capacity * sizeof(domain_traces_t));
        tracer.domains = domains;
        tracer.domains_capacity = capacity;
    }
    i = tracer.ndomains++;
    tracer.domains[i].domain = domain;
    memset(&tracer.domains[i].traces, 0, sizeof(trace_table_t));
    return &tracer.domains[i].traces;
}

/* Record that `ptr` holds `size` bytes allocated at `traceback`, replacing
 * a stale trace.  If the traceback or the trace cannot be recorded, the
 * trace is dropped (and `ptr` left with no trace).  Return 0 or -1. */
static int
add_trace(trace_table_t *table, uintptr_t ptr, size_t size,
          traceback_index_t traceback)
{
    int replaced = 0;
    size_t old_size = 0;
    int res;

    if (traceback == TRACEBACK_FAILED) {
        replaced = trace_table_pop(table, &tracer.heap, ptr, NULL,
                                   &old_size);
        res = -1;
    }
    else {
        res = trace_table_set(table, &tracer.heap, ptr, traceback, size,
                              &replaced, &old_size);
    }
    if (replaced) {
        tracer.traced -= old_size;
    }
    if (res < 0) {
        tracer.dropped++;
        return -1;
    }
    tracer.traced += size;
    if (tracer.traced > tracer.peak) {
        tracer.peak = tracer.traced;
    }
    return 0;
}

/* Remove the trace of `ptr`: return 1 and its traceback and size, or 0. */
static int
remove_trace(trace_table_t *table, uintptr_t ptr,
             traceback_index_t *traceback, size_t *size)
{
    size_t old_size;

    if (!trace_table_pop(table, &tracer.heap, ptr, traceback, &old_size)) {
        return 0;
    }
    tracer.traced -= old_size;
    if (size != NULL) {
        *size = old_size;
    }
    return 1;
}

/* Empty every table and reset the counters. */
static void
clear_tables(void)
{
    size_t i;

    trace_table_clear(&tracer.traces, &tracer.heap);
    for (i = 0; i < tracer.ndomains; i++) {
        trace_table_clear(&tracer.domains[i].traces, &tracer.heap);
    }
    tracer_heap_free(&tracer.heap, tracer.domains,
                     tracer.domains_capacity * sizeof(domain_traces_t));
    tracer.domains = NULL;
    tracer.ndomains = 0;
    tracer.domains_capacity = 0;
    tracer.traced = 0;
    tracer.peak = 0;
    tracer.dropped = 0;
    tracer.generation++;
}


/* ==========================================================================
 * Allocator hooks
 *
 * The hooks ignore their `ctx`: the domain is in their name.  (A thread may
 * read the allocator table while stop() rewrites it, and call a hook with
 * the context of the allocator it replaced.)
 *
 * A freed block loses its trace BEFORE the memory goes back to the
 * allocator: afterwards another thread could get the same address and
 * trace it, and the late removal would delete that new trace.
 */

/* How a hook learns whether its thread holds the GIL. */
#define GIL_HELD 1          /* OBJ: always called with the GIL */
#define GIL_UNKNOWN 0       /* RAW, and MEM for 2.7 extensions that call
                               PyMem_Malloc() without the GIL */

static PyThreadState *
hook_thread_state(int gil)
{
    return gil == GIL_HELD ? CURRENT_TSTATE() : gil_holder_state();
}

/* Trace a new block; called with the guard set. */
static void
trace_new_block(int gil, void *ptr, size_t size)
{
    traceback_index_t traceback = current_traceback(hook_thread_state(gil));

    tables_lock();
    if (tracer.tracing) {
        (void)add_trace(&tracer.traces, (uintptr_t)ptr, size, traceback);
    }
    tables_unlock();
}

static void *
traced_alloc(PyMemAllocatorEx *alloc, int gil, size_t nelem, size_t elsize,
             int zeroed)
{
    void *ptr;

    if (get_reentrant()) {
        return (zeroed ? alloc->calloc(alloc->ctx, nelem, elsize)
                       : alloc->malloc(alloc->ctx, elsize));
    }
    set_reentrant(1);
    ptr = (zeroed ? alloc->calloc(alloc->ctx, nelem, elsize)
                  : alloc->malloc(alloc->ctx, elsize));
    if (ptr != NULL && tracer.tracing) {
        /* the allocator API checked that nelem * elsize does not
           overflow */
        trace_new_block(gil, ptr, nelem * elsize);
    }
    set_reentrant(0);
    return ptr;
}

static void *
traced_realloc(PyMemAllocatorEx *alloc, int gil, void *ptr, size_t size)
{
    void *ptr2;
    int had_trace = 0;
    traceback_index_t old_traceback = TRACEBACK_UNKNOWN;
    size_t old_size = 0;
    unsigned long generation = 0;

    if (get_reentrant() || ptr == NULL) {
        if (ptr == NULL) {
            return traced_alloc(alloc, gil, 1, size, 0);
        }
        return alloc->realloc(alloc->ctx, ptr, size);
    }
    set_reentrant(1);
    if (tracer.tracing) {
        tables_lock();
        if (tracer.tracing) {
            had_trace = remove_trace(&tracer.traces, (uintptr_t)ptr,
                                     &old_traceback, &old_size);
            generation = tracer.generation;
        }
        tables_unlock();
    }

    ptr2 = alloc->realloc(alloc->ctx, ptr, size);

    if (ptr2 == NULL) {
        /* The block did not change: give it its trace back. */
        if (had_trace) {
            tables_lock();
            if (tracer.tracing && tracer.generation == generation) {
                (void)add_trace(&tracer.traces, (uintptr_t)ptr, old_size,
                                old_traceback);
            }
            tables_unlock();
        }
    }
    else if (tracer.tracing) {
        trace_new_block(gil, ptr2, size);
    }
    set_reentrant(0);
    return ptr2;
}

static void
traced_free(PyMemAllocatorEx *alloc, void *ptr)
{
    if (ptr != NULL && tracer.tracing && !get_reentrant()) {
        tables_lock();
        if (tracer.tracing) {
            (void)remove_trace(&tracer.traces, (uintptr_t)ptr, NULL, NULL);
        }
        tables_unlock();
    }
    alloc->free(alloc->ctx, ptr);
}

/* One set of hooks per domain. */

static void *
hook_raw_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return traced_alloc(&tracer.raw, GIL_UNKNOWN, 1, size, 0);
}

static void *
hook_raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    return traced_alloc(&tracer.raw, GIL_UNKNOWN, nelem, elsize, 1);
}

static void *
hook_raw_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return traced_realloc(&tracer.raw, GIL_UNKNOWN, ptr, size);
}

static void
hook_raw_free(void *ctx, void *ptr)
{
    (void)ctx;
    traced_free(&tracer.raw, ptr);
}

static void *
hook_mem_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return traced_alloc(&tracer.mem, GIL_UNKNOWN, 1, size, 0);
}

static void *
hook_mem_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    return traced_alloc(&tracer.mem, GIL_UNKNOWN, nelem, elsize, 1);
}

static void *
hook_mem_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return traced_realloc(&tracer.mem, GIL_UNKNOWN, ptr, size);
}

static void
hook_mem_free(void *ctx, void *ptr)
{
    (void)ctx;
    traced_free(&tracer.mem, ptr);
}

static void *
hook_obj_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return traced_alloc(&tracer.obj, GIL_HELD, 1, size, 0);
}

static void *
hook_obj_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    return traced_alloc(&tracer.obj, GIL_HELD, nelem, elsize, 1);
}

/* An OBJ block that is freed or moved may have been a frame (see
 * traceback_forget_frame()). */
static void
forget_frame_block(void *ptr)
{
    if (ptr != NULL && tracer.store != NULL) {
        traceback_forget_frame(tracer.store,
                               (char *)ptr + sizeof(PyGC_Head));
    }
}

static void *
hook_obj_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    forget_frame_block(ptr);
    return traced_realloc(&tracer.obj, GIL_HELD, ptr, size);
}

static void
hook_obj_free(void *ctx, void *ptr)
{
    (void)ctx;
    forget_frame_block(ptr);
    traced_free(&tracer.obj, ptr);
}

static PyMemAllocatorEx hooks_raw = {
    NULL, hook_raw_malloc, hook_raw_calloc, hook_raw_realloc, hook_raw_free
};
static PyMemAllocatorEx hooks_mem = {
    NULL, hook_mem_malloc, hook_mem_calloc, hook_mem_realloc, hook_mem_free
};
static PyMemAllocatorEx hooks_obj = {
    NULL, hook_obj_malloc, hook_obj_calloc, hook_obj_realloc, hook_obj_free
};


/* --------------------------------------------------------------------------
 * Free-list reuse hook
 *
 * A free list hands out an object without allocating: the trace of its
 * block (if the block was allocated while tracing) still names the line
 * that first allocated it.  The object now belongs to the current line, so
 * the trace gets the current traceback.  Objects without a block of their
 * own (2.7's ints and floats are carved out of bigger blocks) and blocks
 * allocated before tracing started get their traceback recorded in the
 * store's side table instead, by object address; _get_object_traceback()
 * looks there when the block has no trace.
 *
 * If the traceback cannot be interned, the object is attributed to the
 * unknown traceback (its block's trace still counts its size), and the
 * failure is counted as a dropped trace.
 */

/* Does the object start a memory block of its own (after its GC header)?
 * In 2.7, ints and floats are carved out of bigger blocks by their free
 * lists. */
static int
object_has_own_block(PyObject *op)
{
#if PY_MAJOR_VERSION < 3
    return Py_TYPE(op) != &PyInt_Type && Py_TYPE(op) != &PyFloat_Type;
#else
    (void)op;
    return 1;
#endif
}

static uintptr_t
object_block(PyObject *op)
{
    if (PyType_IS_GC(Py_TYPE(op))) {
        return (uintptr_t)((char *)op - sizeof(PyGC_Head));
    }
    return (uintptr_t)op;
}

/* Returns op: the interpreter tail-calls it (see _PyObject_ReturnReused). */
static PyObject *
reuse_hook(PyObject *op)
{
    traceback_index_t traceback;
    int found = 0;
    int failed;

    if (Py_TYPE(op) == &PyFrame_Type && tracer.store != NULL) {
        traceback_forget_frame(tracer.store, op);
    }
    if (!tracer.tracing || get_reentrant()) {
        return op;
    }
    set_reentrant(1);
    traceback = current_traceback(CURRENT_TSTATE());
    failed = (traceback == TRACEBACK_FAILED);
    if (failed) {
        traceback = TRACEBACK_UNKNOWN;
    }

    if (object_has_own_block(op)) {
        tables_lock();
        found = trace_table_set_traceback(&tracer.traces, object_block(op),
                                          traceback);
        tables_unlock();
    }

    if (!found && tracer.store != NULL) {
        if (traceback_store_set_reused(tracer.store, (uintptr_t)op,
                                       traceback) < 0) {
            failed = 1;
        }
    }
    if (failed) {
        tables_lock();
        tracer.dropped++;
        tables_unlock();
    }
    set_reentrant(0);
    return op;
}


/* ==========================================================================
 * Start, stop, clear (GIL held)
 */

static void
set_allocators(PyMemAllocatorEx *raw, PyMemAllocatorEx *mem,
               PyMemAllocatorEx *obj)
{
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, raw);
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, obj);
}

/* Drop the tracer's reference to the traceback store.  This may run
 * arbitrary code (see traceback_store_decref()). */
static void
release_store(void)
{
    traceback_store_t *store = tracer.store;

    if (store != NULL) {
        tracer.store = NULL;
        traceback_store_decref(store);
    }
}

/* Must not import anything: it runs before site when started by
 * PYTHONTRACEMALLOC. */
static int
tracer_start(int max_nframe)
{
    traceback_t *buffer;
    size_t size;

    if (tracer.tracing) {
        /* as CPython: the hooks are in place, the limit stays */
        return 0;
    }

    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &tracer.raw);
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &tracer.mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &tracer.obj);

    tables_lock();
    tracer.heap.allocator = tracer.raw;
    tracer.heap.used = &tracer.heap_memory;
    size = TRACEBACK_SIZE(max_nframe);
    buffer = (traceback_t *)tracer_heap_alloc(&tracer.heap, 1, size, 0);
    if (buffer == NULL) {
        tables_unlock();
        PyErr_NoMemory();
        return -1;
    }
    tracer.frame_buffer = buffer;
    tracer.frame_buffer_size = size;
    tracer.max_nframe = max_nframe;
    clear_tables();
    tracer.tracing = 1;
    tables_unlock();

    set_allocators(&hooks_raw, &hooks_mem, &hooks_obj);
    (void)_PyObject_SetReuseHook(reuse_hook);
    return 0;
}

/* With `release` false, the strings that tracebacks keep (filenames,
 * co_lnotab) are left alone (at exit, when the interpreter is gone). */
static void
tracer_stop(int release)
{
    if (!tracer.tracing) {
        return;
    }
    (void)_PyObject_SetReuseHook(NULL);
    set_allocators(&tracer.raw, &tracer.mem, &tracer.obj);

    /* A thread may still be inside a hook: it finds `tracing` off once it
       gets the lock, and its allocator (tracer.raw...) is still valid. */
    tables_lock();
    tracer.tracing = 0;
    clear_tables();
    tracer_heap_free(&tracer.heap, tracer.frame_buffer,
                     tracer.frame_buffer_size);
    tracer.frame_buffer = NULL;
    tracer.frame_buffer_size = 0;
    tables_unlock();

    if (release) {
        release_store();
    }
    else {
        tracer.store = NULL;
    }
}

static void
tracer_clear(void)
{
    if (!tracer.tracing) {
        return;
    }
    tables_lock();
    clear_tables();
    tables_unlock();
    /* the hooks stay in place: releasing the tracebacks' strings frees
       memory, which finds empty tables */
    release_store();
}

/* Registered with Py_AtExit(): the interpreter is finalized, so its
 * objects must not be touched; the traceback store is abandoned. */
static void
tracer_atexit(void)
{
    tracer_stop(0);
}


/* ==========================================================================
 * C API: PyTraceMalloc_Track() and PyTraceMalloc_Untrack()
 *
 * Callable without the GIL: the traceback is then unknown.  (CPython takes
 * the GIL to get one; 2.7's PyGILState_Ensure() allocates and may block, and
 * these functions are called from inside allocators.)
 */

static int
tracer_track(unsigned int domain, uintptr_t ptr, size_t size)
{
    traceback_index_t traceback = TRACEBACK_UNKNOWN;
    PyThreadState *tstate;
    trace_table_t *table;
    int res;

    if (!tracer.tracing) {
        return -2;
    }
    if (ptr == 0) {
        return -1;
    }
    tstate = gil_holder_state();
    if (tstate != NULL) {
        traceback = current_traceback(tstate);
    }

    tables_lock();
    if (!tracer.tracing) {
        res = -2;
    }
    else {
        table = domain_table(domain, 1);
        if (table == NULL) {
            tracer.dropped++;
            res = -1;
        }
        else {
            res = add_trace(table, ptr, size, traceback);
        }
    }
    tables_unlock();
    return res;
}

static int
tracer_untrack(unsigned int domain, uintptr_t ptr)
{
    trace_table_t *table;
    int res = 0;

    tables_lock();
    if (!tracer.tracing) {
        res = -2;
    }
    else {
        table = domain_table(domain, 0);
        if (table != NULL) {
            (void)remove_trace(table, ptr, NULL, NULL);
        }
    }
    tables_unlock();
    return res;
}

static PyTraceMalloc_CAPI tracer_capi = {
    PyTraceMalloc_API_VERSION,
    tracer_track,
    tracer_untrack
};


/* ==========================================================================
 * Python functions
 */

/* A trace copied out of the tables, for _get_traces(). */
typedef struct {
    unsigned int domain;
    traceback_index_t traceback;
    size_t size;
} copied_trace_t;

static size_t
copy_table(const trace_table_t *table, unsigned int domain,
           copied_trace_t *copy)
{
    size_t pos = 0;
    size_t n = 0;
    uintptr_t ptr;

    while (trace_table_next(table, &pos, &ptr, &copy[n].traceback,
                            &copy[n].size)) {
        copy[n].domain = domain;
        n++;
    }
    return n;
}

/* Build the (domain, size, frames, total_nframe) tuples.  The frames tuple
 * of each traceback is built once and shared. */
static PyObject *
traces_to_list(const copied_trace_t *copy, size_t ntraces,
               traceback_store_t *store, PyObject **frames_cache)
{
    PyObject *list;
    size_t i;

    list = PyList_New((Py_ssize_t)ntraces);
    if (list == NULL) {
        return NULL;
    }
    for (i = 0; i < ntraces; i++) {
        traceback_index_t index = copy[i].traceback;
        PyObject *frames = frames_cache[index];
        PyObject *domain, *size, *total_nframe, *tuple;

        if (frames == NULL) {
            frames = traceback_store_frames(store, index);
            if (frames == NULL) {
                goto error;
            }
            frames_cache[index] = frames;
        }
        domain = INT_FROM_LONG((long)copy[i].domain);
        size = INT_FROM_SIZE_T(copy[i].size);
        total_nframe = INT_FROM_LONG(
            (long)traceback_store_total_nframe(store, index));
        tuple = NULL;
        if (domain != NULL && size != NULL && total_nframe != NULL) {
            tuple = PyTuple_New(4);
        }
        if (tuple == NULL) {
            Py_XDECREF(domain);
            Py_XDECREF(size);
            Py_XDECREF(total_nframe);
            goto error;
        }
        Py_INCREF(frames);
        PyTuple_SET_ITEM(tuple, 0, domain);
        PyTuple_SET_ITEM(tuple, 1, size);
        PyTuple_SET_ITEM(tuple, 2, frames);
        PyTuple_SET_ITEM(tuple, 3, total_nframe);
        PyList_SET_ITEM(list, (Py_ssize_t)i, tuple);
    }
    return list;

error:
    Py_DECREF(list);
    return NULL;
}

PyDoc_STRVAR(get_traces_doc,
"_get_traces() -> list\n\
\n\
Get the traces of the memory blocks allocated by Python: a list of\n\
(domain, size, frames, total_nframe) tuples, where frames is a tuple of\n\
(filename, lineno) tuples, most recent call first.\n\
Return an empty list if tracemalloc is not tracing.");

static PyObject *
py_get_traces(PyObject *self, PyObject *unused)
{
    copied_trace_t *copy;
    size_t ntraces = 0;
    size_t copy_size;
    size_t i;
    traceback_store_t *store;
    PyObject **frames_cache = NULL;
    size_t ncache;
    PyObject *list = NULL;

    (void)self;
    (void)unused;
    if (!tracer.tracing) {
        return PyList_New(0);
    }

    /* Copy the traces: building Python objects allocates memory, which
       needs the tables lock, and may run code that clears the traces. */
    tables_lock();
    ntraces = tracer.traces.count;
    for (i = 0; i < tracer.ndomains; i++) {
        ntraces += tracer.domains[i].traces.count;
    }
    copy_size = ntraces * sizeof(copied_trace_t);
    copy = (copied_trace_t *)tracer_heap_alloc(&tracer.heap, ntraces + 1,
                                               sizeof(copied_trace_t), 0);
    if (copy == NULL) {
        tables_unlock();
        return PyErr_NoMemory();
    }
    ntraces = copy_table(&tracer.traces, DEFAULT_DOMAIN, copy);
    for (i = 0; i < tracer.ndomains; i++) {
        ntraces += copy_table(&tracer.domains[i].traces,
                              tracer.domains[i].domain, copy + ntraces);
    }
    tables_unlock();

    /* ... and keep the tracebacks they refer to alive, for the same
       reason. */
    store = tracer.store;
    if (store != NULL) {
        traceback_store_incref(store);
    }

    ncache = traceback_store_count(store);
    frames_cache = (PyObject **)PyMem_Malloc(ncache * sizeof(PyObject *));
    if (frames_cache == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memset(frames_cache, 0, ncache * sizeof(PyObject *));
    list = traces_to_list(copy, ntraces, store, frames_cache);

done:
    if (frames_cache != NULL) {
        for (i = 0; i < ncache; i++) {
            Py_XDECREF(frames_cache[i]);
        }
        PyMem_Free(frames_cache);
    }
    tables_lock();
    tracer_heap_free(&tracer.heap, copy,
                     copy_size + sizeof(copied_trace_t));
    tables_unlock();
    if (store != NULL) {
        traceback_store_decref(store);
    }
    return list;
}

PyDoc_STRVAR(get_object_traceback_doc,
"_get_object_traceback(obj)\n\
\n\
Get the traceback where the Python object obj was allocated, as a tuple\n\
of (filename, lineno) tuples, most recent call first.\n\
Return None if tracemalloc is not tracing or did not trace the object.");

static PyObject *
py_get_object_traceback(PyObject *self, PyObject *obj)
{
    traceback_index_t traceback;
    traceback_store_t *store;
    PyObject *frames;
    int found;

    (void)self;
    if (!tracer.tracing) {
        Py_RETURN_NONE;
    }
    tables_lock();
    found = trace_table_get(&tracer.traces, object_block(obj), &traceback,
                            NULL);
    tables_unlock();

    store = tracer.store;
    if (!found && (store == NULL
                   || !traceback_store_get_reused(store, (uintptr_t)obj,
                                                  &traceback))) {
        Py_RETURN_NONE;
    }
    if (store != NULL) {
        traceback_store_incref(store);
    }
    frames = traceback_store_frames(store, traceback);
    if (store != NULL) {
        traceback_store_decref(store);
    }
    return frames;
}

PyDoc_STRVAR(start_doc,
"start(nframe: int=1)\n\
\n\
Start tracing Python memory allocations, storing at most nframe frames\n\
per traceback.  Does nothing (the limit included) if already tracing.");

static PyObject *
py_start(PyObject *self, PyObject *args)
{
    PyObject *nframe_obj = NULL;
    Py_ssize_t nframe = 1;

    (void)self;
    if (!PyArg_ParseTuple(args, "|O:start", &nframe_obj)) {
        return NULL;
    }
    if (nframe_obj != NULL) {
        if (!PyIndex_Check(nframe_obj)) {
            PyErr_Format(PyExc_TypeError,
                         "'%.200s' object cannot be interpreted "
                         "as an integer",
                         Py_TYPE(nframe_obj)->tp_name);
            return NULL;
        }
        /* out-of-range values are clamped, and rejected below */
        nframe = PyNumber_AsSsize_t(nframe_obj, NULL);
        if (nframe == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (nframe < 1 || nframe > TRACEBACK_MAX_NFRAME) {
        PyErr_Format(PyExc_ValueError,
                     "the number of frames must be in range [1; %d]",
                     TRACEBACK_MAX_NFRAME);
        return NULL;
    }
    if (tracer_start((int)nframe) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(stop_doc,
"stop()\n\
\n\
Stop tracing Python memory allocations and clear the traces.");

static PyObject *
py_stop(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tracer_stop(1);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(is_tracing_doc,
"is_tracing() -> bool\n\
\n\
True if tracemalloc is tracing Python memory allocations.");

static PyObject *
py_is_tracing(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tracer.tracing);
}

PyDoc_STRVAR(clear_traces_doc,
"clear_traces()\n\
\n\
Clear the traces of the memory blocks allocated by Python, and reset the\n\
traced memory, its peak and the dropped traces count.");

static PyObject *
py_clear_traces(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tracer_clear();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(get_traceback_limit_doc,
"get_traceback_limit() -> int\n\
\n\
The maximum number of frames stored in a traceback.");

static PyObject *
py_get_traceback_limit(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return INT_FROM_LONG(tracer.max_nframe);
}

PyDoc_STRVAR(get_traced_memory_doc,
"get_traced_memory() -> (int, int)\n\
\n\
The current size and the peak size of the traced memory blocks, in bytes.");

static PyObject *
py_get_traced_memory(PyObject *self, PyObject *unused)
{
    size_t traced = 0;
    size_t peak = 0;

    (void)self;
    (void)unused;
    tables_lock();
    if (tracer.tracing) {
        traced = tracer.traced;
        peak = tracer.peak;
    }
    tables_unlock();
    return Py_BuildValue("(NN)", INT_FROM_SIZE_T(traced),
                         INT_FROM_SIZE_T(peak));
}

PyDoc_STRVAR(reset_peak_doc,
"reset_peak()\n\
\n\
Set the peak size of the traced memory blocks to their current size.");

static PyObject *
py_reset_peak(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tables_lock();
    tracer.peak = tracer.traced;
    tables_unlock();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(get_tracemalloc_memory_doc,
"get_tracemalloc_memory() -> int\n\
\n\
The memory used by the tracer itself, in bytes: trace tables and\n\
tracebacks.");

static PyObject *
py_get_tracemalloc_memory(PyObject *self, PyObject *unused)
{
    size_t size;

    (void)self;
    (void)unused;
    tables_lock();
    size = tracer.heap_memory;
    tables_unlock();
    return INT_FROM_SIZE_T(size + tracer.store_memory);
}

PyDoc_STRVAR(get_dropped_traces_doc,
"get_dropped_traces() -> int\n\
\n\
The number of traces that could not be recorded since tracing started or\n\
the traces were cleared, because the tracer ran out of memory.");

static PyObject *
py_get_dropped_traces(PyObject *self, PyObject *unused)
{
    size_t dropped;

    (void)self;
    (void)unused;
    tables_lock();
    dropped = tracer.dropped;
    tables_unlock();
    return INT_FROM_SIZE_T(dropped);
}

PyDoc_STRVAR(get_arena_stats_doc,
"_get_arena_stats() -> dict\n\
\n\
pymalloc's arenas (count and bytes), the bytes of their unused pools, and\n\
the bytes of the used and of the free blocks in the pools in use: memory\n\
that pymalloc keeps from the system but the program does not use.");

static PyObject *
py_get_arena_stats(PyObject *self, PyObject *unused)
{
    size_t narenas, arena_bytes, free_pool_bytes;
    size_t used_block_bytes, free_block_bytes;

    (void)self;
    (void)unused;
    _PyObject_GetArenaStats(&narenas, &arena_bytes, &free_pool_bytes,
                            &used_block_bytes, &free_block_bytes);
    return Py_BuildValue("{s:n,s:n,s:n,s:n,s:n}",
                         "narenas", (Py_ssize_t)narenas,
                         "arena_bytes", (Py_ssize_t)arena_bytes,
                         "free_pool_bytes", (Py_ssize_t)free_pool_bytes,
                         "used_block_bytes", (Py_ssize_t)used_block_bytes,
                         "free_block_bytes", (Py_ssize_t)free_block_bytes);
}

static PyMethodDef module_methods[] = {
    {"is_tracing", py_is_tracing, METH_NOARGS, is_tracing_doc},
    {"clear_traces", py_clear_traces, METH_NOARGS, clear_traces_doc},
    {"_get_object_traceback", py_get_object_traceback, METH_O,
     get_object_traceback_doc},
    {"_get_traces", py_get_traces, METH_NOARGS, get_traces_doc},
    {"start", py_start, METH_VARARGS, start_doc},
    {"stop", py_stop, METH_NOARGS, stop_doc},
    {"get_traceback_limit", py_get_traceback_limit, METH_NOARGS,
     get_traceback_limit_doc},
    {"get_traced_memory", py_get_traced_memory, METH_NOARGS,
     get_traced_memory_doc},
    {"reset_peak", py_reset_peak, METH_NOARGS, reset_peak_doc},
    {"get_tracemalloc_memory", py_get_tracemalloc_memory, METH_NOARGS,
     get_tracemalloc_memory_doc},
    {"get_dropped_traces", py_get_dropped_traces, METH_NOARGS,
     get_dropped_traces_doc},
    {"_get_arena_stats", py_get_arena_stats, METH_NOARGS,
     get_arena_stats_doc},
    {NULL, NULL, 0, NULL}
};

PyDoc_STRVAR(module_doc, "Debug module to trace memory blocks allocated "
             "by Python.");


/* ==========================================================================
 * Module initialization
 */

/* Once per process: module init may run again (reload, a new interpreter),
 * the handlers must not pile up. */
static int
tracer_init_once(void)
{
    static int done = 0;

    if (done) {
        return 0;
    }
    tracer.max_nframe = 1;     /* get_traceback_limit() before start() */
    if (guard_init() < 0
        || pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "_tracemalloc: cannot set up thread support");
        return -1;
    }
    if (Py_AtExit(tracer_atexit) < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "_tracemalloc: cannot register the exit function");
        return -1;
    }
    done = 1;
    return 0;
}

static PyObject *
module_setup(PyObject *module)
{
    PyObject *capsule;

    if (module == NULL || tracer_init_once() < 0) {
        return NULL;
    }
    capsule = PyCapsule_New(&tracer_capi, PyTraceMalloc_CAPSULE_NAME, NULL);
    if (capsule == NULL || PyModule_AddObject(module, "_C_API",
                                              capsule) < 0) {
        Py_XDECREF(capsule);
        return NULL;
    }
    return module;
}

#if PY_MAJOR_VERSION >= 3

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_tracemalloc",
    module_doc,
    0,
    module_methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__tracemalloc(void)
{
    PyObject *module = PyModule_Create(&module_def);

    if (module_setup(module) == NULL) {
        Py_XDECREF(module);
        return NULL;
    }
    return module;
}

#else

PyMODINIT_FUNC
init_tracemalloc(void)
{
    (void)module_setup(Py_InitModule3("_tracemalloc", module_methods,
                                      module_doc));
}

#endif
