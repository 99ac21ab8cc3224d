/* _tracertest: C helpers for test_tracer.py.
 *
 * What Python code cannot do by itself:
 *   - allocate with PyMem_RawMalloc() from threads that pthread_create()
 *     started (no thread state, no GIL), once or in a background loop;
 *   - allocate like a stock 2.7 extension and free() behind the tracer;
 *   - call PyTraceMalloc_Track()/Untrack() through pytracemalloc.h;
 *   - put an allocator UNDER the tracer (installed before start(), so the
 *     tracer saves it and takes its own memory from it) that counts live
 *     bytes and can fail every Nth request.
 */

#include "Python.h"
#include "pytracemalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef Py_PEP445_BACKPORT
#  error "_tracertest needs an interpreter with the PEP 445 backport"
#endif

#if PY_MAJOR_VERSION >= 3
#  define INT_FROM_LONG PyLong_FromLong
#else
#  define INT_FROM_LONG PyInt_FromLong
#endif

static PyObject *
address_to_object(void *ptr)
{
    return PyLong_FromVoidPtr(ptr);
}

static int
object_to_address(PyObject *obj, void **ptr)
{
    *ptr = PyLong_AsVoidPtr(obj);
    return !(*ptr == NULL && PyErr_Occurred());
}


/* ==========================================================================
 * RAW allocations from native threads
 */

#define MAX_BLOCKS 100000

static void *blocks[MAX_BLOCKS];
static size_t nblocks = 0;

enum { OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE };

typedef struct {
    int op;
    size_t count;
    size_t size;
    size_t done;
} job_t;

static void *
run_job(void *arg)
{
    job_t *job = (job_t *)arg;
    size_t i;

    for (i = 0; i < job->count; i++) {
        void *ptr = NULL;

        switch (job->op) {
        case OP_MALLOC:
            ptr = PyMem_RawMalloc(job->size);
            break;
        case OP_CALLOC:
            ptr = PyMem_RawCalloc(1, job->size);
            break;
        case OP_REALLOC:
            /* grow a block: the trace must follow it */
            ptr = PyMem_RawMalloc(job->size / 2);
            if (ptr != NULL) {
                void *ptr2 = PyMem_RawRealloc(ptr, job->size);
                if (ptr2 == NULL) {
                    PyMem_RawFree(ptr);
                }
                ptr = ptr2;
            }
            break;
        }
        if (ptr != NULL) {
            blocks[nblocks++] = ptr;
            job->done++;
        }
    }
    if (job->op == OP_FREE) {
        for (i = 0; i < nblocks; i++) {
            PyMem_RawFree(blocks[i]);
            job->done++;
        }
        nblocks = 0;
    }
    return NULL;
}

/* Run `job` in a new native thread and wait for it without the GIL. */
static int
run_in_native_thread(job_t *job)
{
    pthread_t thread;
    int err;

    Py_BEGIN_ALLOW_THREADS
    err = pthread_create(&thread, NULL, run_job, job);
    if (err == 0) {
        err = pthread_join(thread, NULL);
    }
    Py_END_ALLOW_THREADS
    if (err != 0) {
        PyErr_SetString(PyExc_RuntimeError, "pthread_create() failed");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(alloc_in_native_thread_doc,
"alloc_in_native_thread(op, count, size) -> int\n\
\n\
In a thread made by pthread_create(), without the GIL: allocate count\n\
blocks of size bytes with PyMem_RawMalloc ('malloc'), PyMem_RawCalloc\n\
('calloc') or PyMem_RawMalloc of half the size and PyMem_RawRealloc\n\
('realloc'), and keep them.  Return the number of blocks allocated.");

static PyObject *
alloc_in_native_thread(PyObject *self, PyObject *args)
{
    const char *op;
    Py_ssize_t count, size;
    job_t job;

    (void)self;
    if (!PyArg_ParseTuple(args, "snn", &op, &count, &size)) {
        return NULL;
    }
    if (count < 0 || size < 0 || nblocks + (size_t)count > MAX_BLOCKS) {
        PyErr_SetString(PyExc_ValueError, "too many blocks");
        return NULL;
    }
    memset(&job, 0, sizeof(job));
    if (strcmp(op, "malloc") == 0) {
        job.op = OP_MALLOC;
    }
    else if (strcmp(op, "calloc") == 0) {
        job.op = OP_CALLOC;
    }
    else if (strcmp(op, "realloc") == 0) {
        job.op = OP_REALLOC;
    }
    else {
        PyErr_SetString(PyExc_ValueError, "unknown operation");
        return NULL;
    }
    job.count = (size_t)count;
    job.size = (size_t)size;
    if (run_in_native_thread(&job) < 0) {
        return NULL;
    }
    return PyLong_FromSize_t(job.done);
}

PyDoc_STRVAR(free_in_native_thread_doc,
"free_in_native_thread() -> int\n\
\n\
Free, with PyMem_RawFree in a native thread, the blocks that\n\
alloc_in_native_thread() kept.  Return their number.");

static PyObject *
free_in_native_thread(PyObject *self, PyObject *unused)
{
    job_t job;

    (void)self;
    (void)unused;
    memset(&job, 0, sizeof(job));
    job.op = OP_FREE;
    if (run_in_native_thread(&job) < 0) {
        return NULL;
    }
    return PyLong_FromSize_t(job.done);
}


/* --------------------------------------------------------------------------
 * A background loop of RAW allocations in native threads
 */

#define MAX_LOOP_THREADS 4

static pthread_t loop_threads[MAX_LOOP_THREADS];
static int nloop_threads = 0;
static volatile int loop_stop = 0;
static volatile size_t loop_iterations[MAX_LOOP_THREADS];

static void *
run_loop(void *arg)
{
    volatile size_t *iterations = (volatile size_t *)arg;
    void *keep[16];
    unsigned int seed = (unsigned int)(iterations - loop_iterations) + 1;
    size_t i;

    memset(keep, 0, sizeof(keep));
    while (!loop_stop) {
        size_t slot;
        size_t size;

        seed = seed * 1103515245u + 12345u;
        slot = (seed >> 16) % 16;
        size = 1 + (seed >> 8) % 3000;
        if (keep[slot] == NULL) {
            keep[slot] = PyMem_RawMalloc(size);
        }
        else if (seed & 1) {
            void *ptr = PyMem_RawRealloc(keep[slot], size);
            if (ptr != NULL) {
                keep[slot] = ptr;
            }
        }
        else {
            PyMem_RawFree(keep[slot]);
            keep[slot] = NULL;
        }
        (*iterations)++;
    }
    for (i = 0; i < 16; i++) {
        PyMem_RawFree(keep[i]);
    }
    return NULL;
}

PyDoc_STRVAR(start_raw_loop_doc,
"start_raw_loop(nthreads)\n\
\n\
Start nthreads native threads that malloc, realloc and free with the\n\
PyMem_Raw functions, without the GIL, until stop_raw_loop().");

static PyObject *
start_raw_loop(PyObject *self, PyObject *args)
{
    int n, i;

    (void)self;
    if (!PyArg_ParseTuple(args, "i", &n)) {
        return NULL;
    }
    if (nloop_threads != 0 || n < 1 || n > MAX_LOOP_THREADS) {
        PyErr_SetString(PyExc_ValueError, "bad thread count");
        return NULL;
    }
    loop_stop = 0;
    for (i = 0; i < n; i++) {
        loop_iterations[i] = 0;
        if (pthread_create(&loop_threads[i], NULL, run_loop,
                           (void *)&loop_iterations[i]) != 0) {
            break;
        }
        nloop_threads++;
    }
    if (nloop_threads != n) {
        PyErr_SetString(PyExc_RuntimeError, "pthread_create() failed");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(raw_loop_iterations_doc,
"raw_loop_iterations() -> int\n\
\n\
The iterations so far of the threads of start_raw_loop().");

static PyObject *
raw_loop_iterations(PyObject *self, PyObject *unused)
{
    size_t total = 0;
    int i;

    (void)self;
    (void)unused;
    for (i = 0; i < nloop_threads; i++) {
        total += loop_iterations[i];
    }
    return PyLong_FromSize_t(total);
}

PyDoc_STRVAR(stop_raw_loop_doc,
"stop_raw_loop() -> int\n\
\n\
Stop the threads of start_raw_loop(); return their iteration count.");

static PyObject *
stop_raw_loop(PyObject *self, PyObject *unused)
{
    size_t total = 0;
    int i;

    (void)self;
    (void)unused;
    loop_stop = 1;
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < nloop_threads; i++) {
        pthread_join(loop_threads[i], NULL);
        total += loop_iterations[i];
    }
    Py_END_ALLOW_THREADS
    nloop_threads = 0;
    return PyLong_FromSize_t(total);
}


/* ==========================================================================
 * Memory handled like a stock 2.7 extension
 */

PyDoc_STRVAR(mem_malloc_doc,
"mem_malloc(size) -> address\n\
\n\
PyMem_Malloc(size).");

static PyObject *
mem_malloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    void *ptr;

    (void)self;
    if (!PyArg_ParseTuple(args, "n", &size)) {
        return NULL;
    }
    ptr = PyMem_Malloc((size_t)size);
    if (ptr == NULL) {
        return PyErr_NoMemory();
    }
    return address_to_object(ptr);
}

PyDoc_STRVAR(mem_free_doc,
"mem_free(address)\n\
\n\
PyMem_Free(address).");

static PyObject *
mem_free(PyObject *self, PyObject *arg)
{
    void *ptr;

    (void)self;
    if (!object_to_address(arg, &ptr)) {
        return NULL;
    }
    PyMem_Free(ptr);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(libc_free_doc,
"libc_free(address)\n\
\n\
free(address): what a stock 2.7 extension's PyMem_FREE() compiles to,\n\
unseen by the tracer.");

static PyObject *
libc_free(PyObject *self, PyObject *arg)
{
    void *ptr;

    (void)self;
    if (!object_to_address(arg, &ptr)) {
        return NULL;
    }
    free(ptr);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(raw_malloc_doc,
"raw_malloc(size) -> address\n\
\n\
PyMem_RawMalloc(size), with the GIL held.");

static PyObject *
raw_malloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    void *ptr;

    (void)self;
    if (!PyArg_ParseTuple(args, "n", &size)) {
        return NULL;
    }
    ptr = PyMem_RawMalloc((size_t)size);
    if (ptr == NULL) {
        return PyErr_NoMemory();
    }
    return address_to_object(ptr);
}

PyDoc_STRVAR(raw_free_doc,
"raw_free(address)\n\
\n\
PyMem_RawFree(address).");

static PyObject *
raw_free(PyObject *self, PyObject *arg)
{
    void *ptr;

    (void)self;
    if (!object_to_address(arg, &ptr)) {
        return NULL;
    }
    PyMem_RawFree(ptr);
    Py_RETURN_NONE;
}


/* ==========================================================================
 * PyTraceMalloc_Track() and PyTraceMalloc_Untrack()
 */

PyDoc_STRVAR(import_capi_doc,
"import_capi()\n\
\n\
PyTraceMalloc_Import().");

static PyObject *
import_capi(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (PyTraceMalloc_Import() < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(track_doc,
"track(domain, address, size) -> int\n\
\n\
PyTraceMalloc_Track(domain, address, size).");

static PyObject *
track(PyObject *self, PyObject *args)
{
    unsigned int domain;
    PyObject *address;
    unsigned long long size;
    void *ptr;

    (void)self;
    if (!PyArg_ParseTuple(args, "IOK", &domain, &address, &size)
        || !object_to_address(address, &ptr)) {
        return NULL;
    }
    return INT_FROM_LONG(PyTraceMalloc_Track(domain, (uintptr_t)ptr,
                                             (size_t)size));
}

PyDoc_STRVAR(untrack_doc,
"untrack(domain, address) -> int\n\
\n\
PyTraceMalloc_Untrack(domain, address).");

static PyObject *
untrack(PyObject *self, PyObject *args)
{
    unsigned int domain;
    PyObject *address;
    void *ptr;

    (void)self;
    if (!PyArg_ParseTuple(args, "IO", &domain, &address)
        || !object_to_address(address, &ptr)) {
        return NULL;
    }
    return INT_FROM_LONG(PyTraceMalloc_Untrack(domain, (uintptr_t)ptr));
}

typedef struct {
    unsigned int domain;
    uintptr_t ptr;
    size_t size;
    int result;
} track_job_t;

static void *
run_track(void *arg)
{
    track_job_t *job = (track_job_t *)arg;

    job->result = PyTraceMalloc_Track(job->domain, job->ptr, job->size);
    return NULL;
}

PyDoc_STRVAR(track_in_native_thread_doc,
"track_in_native_thread(domain, address, size) -> int\n\
\n\
PyTraceMalloc_Track() from a native thread, without the GIL.");

static PyObject *
track_in_native_thread(PyObject *self, PyObject *args)
{
    track_job_t job;
    PyObject *address;
    unsigned long long size;
    void *ptr;
    pthread_t thread;
    int err;

    (void)self;
    if (!PyArg_ParseTuple(args, "IOK", &job.domain, &address, &size)
        || !object_to_address(address, &ptr)) {
        return NULL;
    }
    job.ptr = (uintptr_t)ptr;
    job.size = (size_t)size;
    job.result = 0;
    Py_BEGIN_ALLOW_THREADS
    err = pthread_create(&thread, NULL, run_track, &job);
    if (err == 0) {
        err = pthread_join(thread, NULL);
    }
    Py_END_ALLOW_THREADS
    if (err != 0) {
        PyErr_SetString(PyExc_RuntimeError, "pthread_create() failed");
        return NULL;
    }
    return INT_FROM_LONG(job.result);
}


/* ==========================================================================
 * An allocator under the tracer
 *
 * Installed as the RAW allocator before start(), it is what the tracer
 * saves and calls for the program's RAW requests and for its own memory.
 * It remembers the size of each block it allocated (in a chained hash
 * table made with the C library, out of sight) to count the live bytes,
 * and fails every Nth request of at least `min_size` bytes.
 */

typedef struct block_node {
    void *ptr;
    size_t size;
    struct block_node *next;
} block_node_t;

#define NBUCKETS 65536

static struct {
    int installed;
    PyMemAllocatorEx below;
    pthread_mutex_t mutex;
    block_node_t *buckets[NBUCKETS];
    size_t live_bytes;
    size_t calls;
    size_t failures;
    size_t fail_every;          /* 0: never fail */
    size_t min_size;
    size_t eligible;            /* requests of at least min_size */
} testalloc = {0, {NULL, NULL, NULL, NULL, NULL},
               PTHREAD_MUTEX_INITIALIZER, {NULL}, 0, 0, 0, 0, 0, 0};

static size_t
bucket_of(void *ptr)
{
    return (size_t)(((uintptr_t)ptr >> 4) % NBUCKETS);
}

/* mutex held */
static void
forget_block(void *ptr)
{
    block_node_t **link = &testalloc.buckets[bucket_of(ptr)];

    while (*link != NULL) {
        if ((*link)->ptr == ptr) {
            block_node_t *node = *link;
            *link = node->next;
            testalloc.live_bytes -= node->size;
            free(node);
            return;
        }
        link = &(*link)->next;
    }
}

/* mutex held */
static void
remember_block(void *ptr, size_t size)
{
    block_node_t *node;

    /* a stale entry: freed after the allocator was removed */
    forget_block(ptr);
    node = (block_node_t *)malloc(sizeof(block_node_t));
    if (node == NULL) {
        abort();
    }
    node->ptr = ptr;
    node->size = size;
    node->next = testalloc.buckets[bucket_of(ptr)];
    testalloc.buckets[bucket_of(ptr)] = node;
    testalloc.live_bytes += size;
}

/* mutex held: should this request fail? */
static int
must_fail(size_t size)
{
    testalloc.calls++;
    if (testalloc.fail_every == 0 || size < testalloc.min_size) {
        return 0;
    }
    testalloc.eligible++;
    if (testalloc.eligible % testalloc.fail_every == 0) {
        testalloc.failures++;
        return 1;
    }
    return 0;
}

static void *
testalloc_malloc(void *ctx, size_t size)
{
    void *ptr = NULL;

    (void)ctx;
    pthread_mutex_lock(&testalloc.mutex);
    if (!must_fail(size)) {
        ptr = testalloc.below.malloc(testalloc.below.ctx, size);
        if (ptr != NULL) {
            remember_block(ptr, size);
        }
    }
    pthread_mutex_unlock(&testalloc.mutex);
    return ptr;
}

static void *
testalloc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    void *ptr = NULL;

    (void)ctx;
    pthread_mutex_lock(&testalloc.mutex);
    if (!must_fail(nelem * elsize)) {
        ptr = testalloc.below.calloc(testalloc.below.ctx, nelem, elsize);
        if (ptr != NULL) {
            remember_block(ptr, nelem * elsize);
        }
    }
    pthread_mutex_unlock(&testalloc.mutex);
    return ptr;
}

static void *
testalloc_realloc(void *ctx, void *ptr, size_t size)
{
    void *ptr2 = NULL;

    (void)ctx;
    pthread_mutex_lock(&testalloc.mutex);
    if (!must_fail(size)) {
        ptr2 = testalloc.below.realloc(testalloc.below.ctx, ptr, size);
        if (ptr2 != NULL) {
            if (ptr != NULL) {
                forget_block(ptr);
            }
            remember_block(ptr2, size);
        }
    }
    pthread_mutex_unlock(&testalloc.mutex);
    return ptr2;
}

static void
testalloc_free(void *ctx, void *ptr)
{
    (void)ctx;
    pthread_mutex_lock(&testalloc.mutex);
    if (ptr != NULL) {
        forget_block(ptr);
    }
    testalloc.below.free(testalloc.below.ctx, ptr);
    pthread_mutex_unlock(&testalloc.mutex);
}

PyDoc_STRVAR(install_test_allocator_doc,
"install_test_allocator(fail_every=0, min_size=0)\n\
\n\
Install the counting (and failing) allocator as the RAW allocator.");

static PyObject *
install_test_allocator(PyObject *self, PyObject *args)
{
    Py_ssize_t fail_every = 0, min_size = 0;
    PyMemAllocatorEx alloc;

    (void)self;
    if (!PyArg_ParseTuple(args, "|nn", &fail_every, &min_size)) {
        return NULL;
    }
    if (testalloc.installed) {
        PyErr_SetString(PyExc_RuntimeError, "already installed");
        return NULL;
    }
    pthread_mutex_lock(&testalloc.mutex);
    testalloc.calls = 0;
    testalloc.failures = 0;
    testalloc.eligible = 0;
    testalloc.fail_every = (size_t)fail_every;
    testalloc.min_size = (size_t)min_size;
    pthread_mutex_unlock(&testalloc.mutex);

    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &testalloc.below);
    alloc.ctx = NULL;
    alloc.malloc = testalloc_malloc;
    alloc.calloc = testalloc_calloc;
    alloc.realloc = testalloc_realloc;
    alloc.free = testalloc_free;
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &alloc);
    testalloc.installed = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(set_test_allocator_failures_doc,
"set_test_allocator_failures(fail_every, min_size)\n\
\n\
Change when the installed test allocator fails (0: never).");

static PyObject *
set_test_allocator_failures(PyObject *self, PyObject *args)
{
    Py_ssize_t fail_every, min_size;

    (void)self;
    if (!PyArg_ParseTuple(args, "nn", &fail_every, &min_size)) {
        return NULL;
    }
    pthread_mutex_lock(&testalloc.mutex);
    testalloc.fail_every = (size_t)fail_every;
    testalloc.min_size = (size_t)min_size;
    testalloc.eligible = 0;
    pthread_mutex_unlock(&testalloc.mutex);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(remove_test_allocator_doc,
"remove_test_allocator()\n\
\n\
Put back the RAW allocator found by install_test_allocator().");

static PyObject *
remove_test_allocator(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!testalloc.installed) {
        PyErr_SetString(PyExc_RuntimeError, "not installed");
        return NULL;
    }
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &testalloc.below);
    testalloc.installed = 0;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(test_allocator_stats_doc,
"test_allocator_stats() -> (live_bytes, calls, failures)");

static PyObject *
test_allocator_stats(PyObject *self, PyObject *unused)
{
    size_t live, calls, failures;

    (void)self;
    (void)unused;
    pthread_mutex_lock(&testalloc.mutex);
    live = testalloc.live_bytes;
    calls = testalloc.calls;
    failures = testalloc.failures;
    pthread_mutex_unlock(&testalloc.mutex);
    return Py_BuildValue("(NNN)", PyLong_FromSize_t(live),
                         PyLong_FromSize_t(calls),
                         PyLong_FromSize_t(failures));
}


/* ==========================================================================
 * Module
 */

#define METHOD(name, flags) {#name, name, flags, name##_doc}

static PyMethodDef methods[] = {
    METHOD(alloc_in_native_thread, METH_VARARGS),
    METHOD(free_in_native_thread, METH_NOARGS),
    METHOD(start_raw_loop, METH_VARARGS),
    METHOD(raw_loop_iterations, METH_NOARGS),
    METHOD(stop_raw_loop, METH_NOARGS),
    METHOD(mem_malloc, METH_VARARGS),
    METHOD(mem_free, METH_O),
    METHOD(libc_free, METH_O),
    METHOD(raw_malloc, METH_VARARGS),
    METHOD(raw_free, METH_O),
    METHOD(import_capi, METH_NOARGS),
    METHOD(track, METH_VARARGS),
    METHOD(untrack, METH_VARARGS),
    METHOD(track_in_native_thread, METH_VARARGS),
    METHOD(install_test_allocator, METH_VARARGS),
    METHOD(set_test_allocator_failures, METH_VARARGS),
    METHOD(remove_test_allocator, METH_NOARGS),
    METHOD(test_allocator_stats, METH_NOARGS),
    {NULL, NULL, 0, NULL}
};

#if PY_MAJOR_VERSION >= 3

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_tracertest", NULL, 0, methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__tracertest(void)
{
    return PyModule_Create(&module_def);
}

#else

PyMODINIT_FUNC
init_tracertest(void)
{
    (void)Py_InitModule("_tracertest", methods);
}

#endif
