/* Fuzz target: the traceback store (backport/tracemalloc_tracebacks.c) —
 * capture, interning (its hash sets) and the frame, site and code caches —
 * against a model.
 *
 * The interpreter is embedded for real code objects (line numbers) and
 * tuples; the frames are fakes that have just what capture reads (f_back,
 * f_code, f_lasti), in a pool of addresses that frames leave and take
 * again, as the free lists and zombie frames make them do.  So are the
 * code objects the frames run: copies of the real ones, in a pool of
 * addresses where a code object dies and another is born (the store must
 * not confuse them).  The input is a program: push a frame (a new life at a
 * pool address: the harness calls traceback_forget_frame() as the tracer
 * does, when the old frame is freed or when its address is handed out
 * again), pop one, resume a generator frame under another caller, move the
 * running frame to another instruction, capture, make the store's heap
 * fail, start a new store, put another code object at the address of one
 * that no frame runs.
 *
 * The model is the stack itself.  At each capture:
 *   - the index is TRACEBACK_FAILED only while the heap fails;
 *   - equal tracebacks (the innermost frames, up to the limit, and the
 *     total depth) get one index, different ones different indexes;
 *   - total_nframe is the depth; the frames tuple gives each frame's
 *     filename and PyCode_Addr2Line();
 * and the frames tuple of a traceback captured earlier still gives the
 * lines of the code objects of its time.  The store's byte counter always
 * equals what its heap holds; once the store is gone, nothing is held and
 * every code object and string has its reference count back.
 *
 * Compile-time: FUZZ_PYTHON (the patched interpreter's path).
 */

#include "Python.h"
#include "frameobject.h"

#include "tracemalloc_tracebacks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_PYTHON
#  error "define FUZZ_PYTHON, the patched interpreter's path"
#endif

#define CHECK(cond, ...) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_tracebacks: %s: ", #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)


/* ==========================================================================
 * Code objects, frames
 */

#define NCODES 8            /* the last ones are generators' */
#define NGENERATORS 2
#define NFRAMES 24          /* pool of frame addresses */
#define MAX_DEPTH 48

static PyCodeObject *codes[NCODES];
/* reference counts of each code, its filename and its co_lnotab */
static Py_ssize_t code_refcnt[NCODES][3];
static PyFrameObject *pool[NFRAMES];
static int on_stack[NFRAMES];
static int zombie[NFRAMES];         /* forget when handed out again */
static int generator_alive[NFRAMES];
static PyThreadState *tstate;

/* The code objects that frames run: copies of codes[code_is[i]] (the
 * store reads them, never takes a reference) at addresses where one dies
 * and another is born. */
static PyCodeObject *code_pool[NCODES];
static int code_is[NCODES];

static int
is_generator_code(int c)
{
    return c >= NCODES - NGENERATORS;
}

static PyCodeObject *
compile_code(int i)
{
    char source[2048], name[32];
    PyObject *module, *consts;
    PyCodeObject *code = NULL;
    int line, n = 0;

    /* lines of different lengths: f_lasti maps to several line numbers */
    if (i >= NCODES - NGENERATORS) {
        n += snprintf(source + n, sizeof(source) - n, "def g():\n");
        for (line = 0; line < 6 + i; line++) {
            n += snprintf(source + n, sizeof(source) - n,
                          "    x%d = [%d] * %d\n    yield x%d\n", line, line,
                          i, line);
        }
    }
    else {
        for (line = 0; line < 5 + 3 * i; line++) {
            n += snprintf(source + n, sizeof(source) - n,
                          "a%d = (%d, [%d])\n", line, line, i);
        }
    }
    snprintf(name, sizeof(name), "code%d.py", i);
    module = Py_CompileString(source, name, Py_file_input);
    if (module == NULL) {
        PyErr_Print();
        abort();
    }
    if (i < NCODES - NGENERATORS) {
        return (PyCodeObject *)module;
    }
    consts = ((PyCodeObject *)module)->co_consts;
    for (line = 0; line < PyTuple_GET_SIZE(consts); line++) {
        if (PyCode_Check(PyTuple_GET_ITEM(consts, line))) {
            code = (PyCodeObject *)PyTuple_GET_ITEM(consts, line);
            Py_INCREF(code);
        }
    }
    CHECK(code != NULL && (code->co_flags & CO_GENERATOR), "no generator");
    return code;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int i;

    (void)argc;
    (void)argv;
    Py_SetProgramName((char *)FUZZ_PYTHON);
    Py_NoSiteFlag = 1;
    Py_Initialize();
    for (i = 0; i < NCODES; i++) {
        codes[i] = compile_code(i);
    }
    for (i = 0; i < NFRAMES; i++) {
        pool[i] = (PyFrameObject *)calloc(1, sizeof(PyFrameObject));
    }
    for (i = 0; i < NCODES; i++) {
        code_pool[i] = (PyCodeObject *)malloc(sizeof(PyCodeObject));
    }
    tstate = (PyThreadState *)calloc(1, sizeof(PyThreadState));
    return 0;
}

/* A code object born at code_pool[at]: a copy of codes[code]. */
static void
new_code_at(int at, int code)
{
    memcpy(code_pool[at], codes[code], sizeof(PyCodeObject));
    code_is[at] = code;
}

static void
save_refcnts(Py_ssize_t refcnt[NCODES][3])
{
    int i;

    for (i = 0; i < NCODES; i++) {
        refcnt[i][0] = Py_REFCNT(codes[i]);
        refcnt[i][1] = Py_REFCNT(codes[i]->co_filename);
        refcnt[i][2] = Py_REFCNT(codes[i]->co_lnotab);
    }
}

/* Once a store is gone: it holds no reference. */
static void
check_refcnts(void)
{
    Py_ssize_t now[NCODES][3];
    int i, j;

    save_refcnts(now);
    for (i = 0; i < NCODES; i++) {
        for (j = 0; j < 3; j++) {
            CHECK(now[i][j] == code_refcnt[i][j],
                  "code %d (%s): %zd references, %zd before", i,
                  j == 0 ? "itself" : j == 1 ? "filename" : "co_lnotab",
                  now[i][j], code_refcnt[i][j]);
        }
    }
}


/* ==========================================================================
 * The store's heap
 */

static size_t live_bytes;
static unsigned long countdown;
static int failing;
static unsigned long failures;      /* requests refused so far */

typedef struct {
    size_t size;
    size_t pad;
} header_t;

static int
heap_fails(void)
{
    if (failing || (countdown != 0 && --countdown == 0)) {
        failures++;
        return 1;
    }
    return 0;
}

static void *
heap_malloc(void *ctx, size_t size)
{
    header_t *block;

    (void)ctx;
    if (heap_fails() || (block = (header_t *)malloc(sizeof(header_t)
                                                    + size)) == NULL) {
        return NULL;
    }
    block->size = size;
    live_bytes += size;
    return block + 1;
}

static void *
heap_calloc(void *ctx, size_t nelem, size_t elsize)
{
    void *ptr = heap_malloc(ctx, nelem * elsize);

    if (ptr != NULL) {
        memset(ptr, 0, nelem * elsize);
    }
    return ptr;
}

static void *
heap_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)ptr;
    (void)size;
    fprintf(stderr, "the store must not realloc()\n");
    abort();
}

static void
heap_free(void *ctx, void *ptr)
{
    header_t *block = (header_t *)ptr - 1;

    (void)ctx;
    if (ptr == NULL) {
        return;
    }
    CHECK(block->size <= live_bytes, "freeing more than is held");
    live_bytes -= block->size;
    free(block);
}

static PyMemAllocatorEx heap_allocator = {
    NULL, heap_malloc, heap_calloc, heap_realloc, heap_free
};


/* ==========================================================================
 * The model: known tracebacks of the current store
 */

typedef struct {
    int nframe;
    int total;
    int code[MAX_DEPTH];
    Py_ssize_t lasti[MAX_DEPTH];
    traceback_index_t index;
} known_t;

#define MAX_KNOWN 512

static known_t known[MAX_KNOWN];
static int nknown;
static int stack[MAX_DEPTH];        /* pool slots, bottom first */
static int depth;
static int code_of[NFRAMES];        /* the code a frame runs: codes[] */
static int code_at[NFRAMES];        /* and its address: code_pool[] */

static void
set_frame(int slot, PyFrameObject *back, int at, Py_ssize_t lasti)
{
    PyFrameObject *frame = pool[slot];

    frame->f_back = back;
    frame->f_code = code_pool[at];
    frame->f_lasti = (int)lasti;
    code_of[slot] = code_is[at];
    code_at[slot] = at;
}

/* The frames tuple of a traceback: the filenames and line numbers of the
 * code objects of its frames when it was captured. */
static void
check_frames(traceback_store_t *store, const known_t *traceback)
{
    PyObject *frames = traceback_store_frames(store, traceback->index);
    int i;

    CHECK(frames != NULL && PyTuple_Check(frames)
          && PyTuple_GET_SIZE(frames) == traceback->nframe,
          "frames of %u", traceback->index);
    for (i = 0; i < traceback->nframe; i++) {
        PyCodeObject *code = codes[traceback->code[i]];
        PyObject *frame = PyTuple_GET_ITEM(frames, i);
        int lineno = PyCode_Addr2Line(code, (int)traceback->lasti[i]);

        CHECK(PyTuple_GET_ITEM(frame, 0) == code->co_filename
              && PyInt_AsLong(PyTuple_GET_ITEM(frame, 1)) == lineno,
              "frame %d of %u: %s:%ld, expected %s:%d", i, traceback->index,
              PyString_AsString(PyTuple_GET_ITEM(frame, 0)),
              PyInt_AsLong(PyTuple_GET_ITEM(frame, 1)),
              PyString_AsString(code->co_filename), lineno);
    }
    Py_DECREF(frames);
}

/* Check a capture against the stack, and its frames tuple if `frames`. */
static void
check_capture(traceback_store_t *store, traceback_index_t index,
              int max_nframe, unsigned long failures_before, int frames)
{
    known_t want;
    int i;

    memset(&want, 0, sizeof(want));
    want.total = depth;
    want.nframe = depth < max_nframe ? depth : max_nframe;
    for (i = 0; i < want.nframe; i++) {
        int slot = stack[depth - 1 - i];
        want.code[i] = code_of[slot];
        want.lasti[i] = pool[slot]->f_lasti;
    }
    if (depth == 0) {
        CHECK(index == TRACEBACK_UNKNOWN, "empty stack: index %u", index);
        return;
    }
    if (index == TRACEBACK_FAILED) {
        CHECK(failures != failures_before, "failed with a working heap");
        return;
    }
    CHECK(index != TRACEBACK_UNKNOWN && index < traceback_store_count(store),
          "index %u of %zu", index, traceback_store_count(store));
    for (i = 0; i < nknown; i++) {
        int same = (known[i].nframe == want.nframe
                    && known[i].total == want.total
                    && memcmp(known[i].code, want.code, sizeof(want.code))
                       == 0
                    && memcmp(known[i].lasti, want.lasti,
                              sizeof(want.lasti)) == 0);
        if (same) {
            CHECK(known[i].index == index,
                  "the same traceback interned as %u and %u",
                  known[i].index, index);
            break;
        }
        CHECK(known[i].index != index,
              "two tracebacks share the index %u", index);
    }
    want.index = index;
    if (i == nknown && nknown < MAX_KNOWN) {
        known[nknown++] = want;
    }
    CHECK(traceback_store_total_nframe(store, index) == (unsigned)depth,
          "total_nframe %u, depth %d",
          traceback_store_total_nframe(store, index), depth);
    if (frames) {
        check_frames(store, &want);
    }
}


/* ==========================================================================
 * The program
 */

static const uint8_t *in_data;
static size_t in_size, in_pos;

static uint8_t
next_byte(void)
{
    return in_pos < in_size ? in_data[in_pos++] : 0;
}

/* f_lasti values: inside the code, and -1 (not started) now and then */
static Py_ssize_t
pick_lasti(int code)
{
    uint8_t b = next_byte();
    Py_ssize_t size = PyString_GET_SIZE(codes[code]->co_code);

    if (b == 255) {
        return -1;
    }
    return (Py_ssize_t)b * 7 % size;
}

static void
new_store(traceback_store_t **store, size_t *used)
{
    if (*store != NULL) {
        traceback_store_decref(*store);
        *store = NULL;
        CHECK(*used == 0 && live_bytes == 0,
              "a dead store holds %zu bytes (counted %zu)", live_bytes,
              *used);
        check_refcnts();
    }
    nknown = 0;
    failing = 0;
    countdown = 0;
    *store = traceback_store_new(&heap_allocator, used);
    CHECK(*store != NULL, "cannot make a store");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    traceback_store_t *store = NULL;
    size_t used = 0;
    int max_nframe, i, slot;
    traceback_t *buffer;
    unsigned int ops = 0;

    in_data = data;
    in_size = size;
    in_pos = 0;
    live_bytes = 0;
    save_refcnts(code_refcnt);
    for (i = 0; i < NCODES; i++) {
        new_code_at(i, i);
    }
    for (i = 0; i < NFRAMES; i++) {
        on_stack[i] = zombie[i] = generator_alive[i] = 0;
    }
    depth = 0;
    tstate->frame = NULL;
    {
        static const int limits[] = {1, 2, 3, 5, 8, 25, MAX_DEPTH};
        max_nframe = limits[next_byte() % 7];
    }
    buffer = (traceback_t *)malloc(TRACEBACK_SIZE(max_nframe));
    new_store(&store, &used);

    while (in_pos < in_size && ops++ < 1000) {
        uint8_t op = next_byte();
        traceback_index_t index;
        int code, at;

        switch (op % 10) {
        case 0:
        case 1:     /* call: a new frame at a pool address */
            slot = next_byte() % NFRAMES;
            at = next_byte() % NCODES;
            if (on_stack[slot] || depth == MAX_DEPTH) {
                break;
            }
            if (generator_alive[slot] || zombie[slot]) {
                /* the old frame's address handed out again: the tracer's
                   reuse hook (or the generator's frame freed) */
                traceback_forget_frame(store, pool[slot]);
            }
            zombie[slot] = 0;
            generator_alive[slot] = is_generator_code(code_is[at]);
            set_frame(slot, depth ? pool[stack[depth - 1]] : NULL, at,
                      pick_lasti(code_is[at]));
            stack[depth++] = slot;
            on_stack[slot] = 1;
            tstate->frame = pool[slot];
            break;
        case 2:     /* return: the frame is freed, or kept as a zombie */
            if (depth == 0) {
                break;
            }
            slot = stack[--depth];
            on_stack[slot] = 0;
            if (!generator_alive[slot]) {
                if (next_byte() & 1) {
                    traceback_forget_frame(store, pool[slot]);
                }
                else {
                    zombie[slot] = 1;
                }
            }
            tstate->frame = depth ? pool[stack[depth - 1]] : NULL;
            break;
        case 3:     /* resume a suspended generator under the current
                       frame: same life, another caller, another depth */
            slot = next_byte() % NFRAMES;
            if (!generator_alive[slot] || on_stack[slot]
                || depth == MAX_DEPTH) {
                break;
            }
            pool[slot]->f_back = depth ? pool[stack[depth - 1]] : NULL;
            pool[slot]->f_lasti = (int)pick_lasti(code_of[slot]);
            stack[depth++] = slot;
            on_stack[slot] = 1;
            tstate->frame = pool[slot];
            break;
        case 4:     /* the running frame moves on */
            if (depth != 0) {
                slot = stack[depth - 1];
                pool[slot]->f_lasti = (int)pick_lasti(code_of[slot]);
            }
            break;
        case 5:
        case 6: {   /* an allocation: capture */
            unsigned long before = failures;

            index = traceback_store_capture(store, tstate, buffer,
                                            max_nframe);
            check_capture(store, index, max_nframe, before,
                          (op & 0x10) != 0);
            break;
        }
        case 7:     /* the heap fails: the Nth allocation, or all */
            i = next_byte();
            if (i == 0) {
                failing = !failing;
            }
            else {
                countdown = i % 8;
            }
            break;
        case 9:     /* a code object dies, another is born at its address
                       (unless a frame runs it: a frame holds its code);
                       then an old traceback keeps the old code's lines */
            at = next_byte() % NCODES;
            code = next_byte() % NCODES;
            for (slot = 0; slot < NFRAMES; slot++) {
                if ((on_stack[slot] || generator_alive[slot])
                    && code_at[slot] == at) {
                    break;
                }
            }
            if (slot == NFRAMES) {
                for (slot = 0; slot < NFRAMES; slot++) {
                    if (zombie[slot] && code_at[slot] == at) {
                        /* freed with the code */
                        traceback_forget_frame(store, pool[slot]);
                        zombie[slot] = 0;
                    }
                }
                new_code_at(at, code);
            }
            if (nknown != 0) {
                check_frames(store, &known[next_byte() % nknown]);
            }
            break;
        default:    /* clear_traces(): a new store */
            if ((next_byte() & 7) == 0) {
                new_store(&store, &used);
            }
            else {
                /* an object handed out again by a free list */
                uintptr_t address = 0x1000 + 16 * (uintptr_t)next_byte();
                traceback_index_t got = 0;
                index = (traceback_index_t)(next_byte()
                                            % traceback_store_count(store));
                if (traceback_store_set_reused(store, address, index) == 0) {
                    CHECK(traceback_store_get_reused(store, address, &got)
                          && got == index, "reused %#lx: %u, set %u",
                          (unsigned long)address, got, index);
                }
            }
            break;
        }
        CHECK(used == live_bytes, "the store counts %zu bytes, holds %zu",
              used, live_bytes);
    }
    failing = 0;
    countdown = 0;
    for (i = 0; i < nknown; i++) {
        check_frames(store, &known[i]);
    }
    traceback_store_decref(store);
    CHECK(used == 0 && live_bytes == 0, "a dead store holds %zu bytes",
          live_bytes);
    check_refcnts();
    free(buffer);
    return 0;
}
