/* Fuzz target: the traceback store (backport/tracemalloc_tracebacks.c) —
 * capture, interning (its hash set) and the frame and site caches —
 * against a model.
 *
 * The interpreter is embedded for real code objects (line numbers) and
 * tuples; the frames are fakes that have just what capture reads (f_back,
 * f_code, f_lasti), in a pool of addresses that frames leave and take
 * again, as the free lists and zombie frames make them do.  The input is a
 * program: push a frame (a new life at a pool address: the harness calls
 * traceback_forget_frame() as the tracer does, when the old frame is freed
 * or when its address is handed out again), pop one, resume a generator
 * frame under another caller, move the running frame to another
 * instruction, capture, make the store's heap fail, start a new store.
 *
 * The model is the stack itself.  At each capture:
 *   - the index is TRACEBACK_FAILED only while the heap fails;
 *   - equal tracebacks (the innermost frames, up to the limit, and the
 *     total depth) get one index, different ones different indexes;
 *   - total_nframe is the depth; the frames tuple gives each frame's
 *     filename and PyCode_Addr2Line();
 * and the store's byte counter always equals what its heap holds; once the
 * store is gone, nothing is held and every code object has its reference
 * count back.
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
static Py_ssize_t code_refcnt[NCODES];
static PyFrameObject *pool[NFRAMES];
static int on_stack[NFRAMES];
static int zombie[NFRAMES];         /* forget when handed out again */
static int generator_alive[NFRAMES];
static PyThreadState *tstate;

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
    tstate = (PyThreadState *)calloc(1, sizeof(PyThreadState));
    return 0;
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
static int code_of[NFRAMES];

static void
set_frame(int slot, PyFrameObject *back, int code, Py_ssize_t lasti)
{
    PyFrameObject *frame = pool[slot];

    frame->f_back = back;
    frame->f_code = codes[code];
    frame->f_lasti = (int)lasti;
    code_of[slot] = code;
}

static void
check_capture(traceback_store_t *store, traceback_index_t index,
              int max_nframe, unsigned long failures_before)
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
    if (i == nknown && nknown < MAX_KNOWN) {
        want.index = index;
        known[nknown++] = want;
    }
    CHECK(traceback_store_total_nframe(store, index) == (unsigned)depth,
          "total_nframe %u, depth %d",
          traceback_store_total_nframe(store, index), depth);
}

/* The frames tuple: filenames and line numbers of the model's frames. */
static void
check_frames(traceback_store_t *store, traceback_index_t index,
             int max_nframe)
{
    PyObject *frames = traceback_store_frames(store, index);
    int n = depth < max_nframe ? depth : max_nframe;
    int i;

    CHECK(frames != NULL && PyTuple_Check(frames)
          && PyTuple_GET_SIZE(frames) == n, "frames of %u", index);
    for (i = 0; i < n; i++) {
        int slot = stack[depth - 1 - i];
        PyCodeObject *code = codes[code_of[slot]];
        PyObject *frame = PyTuple_GET_ITEM(frames, i);
        int lineno = PyCode_Addr2Line(code, pool[slot]->f_lasti);

        CHECK(PyTuple_GET_ITEM(frame, 0) == code->co_filename
              && PyInt_AsLong(PyTuple_GET_ITEM(frame, 1)) == lineno,
              "frame %d of %u: line %ld, expected %d", i, index,
              PyInt_AsLong(PyTuple_GET_ITEM(frame, 1)), lineno);
    }
    Py_DECREF(frames);
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
    int i;

    if (*store != NULL) {
        traceback_store_decref(*store);
        *store = NULL;
        CHECK(*used == 0 && live_bytes == 0,
              "a dead store holds %zu bytes (counted %zu)", live_bytes,
              *used);
        for (i = 0; i < NCODES; i++) {
            CHECK(Py_REFCNT(codes[i]) == code_refcnt[i],
                  "code %d: %zd references, %zd before", i,
                  Py_REFCNT(codes[i]), code_refcnt[i]);
        }
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
    for (i = 0; i < NCODES; i++) {
        code_refcnt[i] = Py_REFCNT(codes[i]);
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
        int code;

        switch (op % 9) {
        case 0:
        case 1:     /* call: a new frame at a pool address */
            slot = next_byte() % NFRAMES;
            code = next_byte() % NCODES;
            if (on_stack[slot] || depth == MAX_DEPTH) {
                break;
            }
            if (generator_alive[slot] || zombie[slot]) {
                /* the old frame's address handed out again: the tracer's
                   reuse hook (or the generator's frame freed) */
                traceback_forget_frame(store, pool[slot]);
            }
            zombie[slot] = 0;
            generator_alive[slot] = is_generator_code(code);
            set_frame(slot, depth ? pool[stack[depth - 1]] : NULL, code,
                      pick_lasti(code));
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
            check_capture(store, index, max_nframe, before);
            if (index != TRACEBACK_FAILED && depth != 0
                && (op & 0x10)) {
                check_frames(store, index, max_nframe);
            }
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
    traceback_store_decref(store);
    CHECK(used == 0 && live_bytes == 0, "a dead store holds %zu bytes",
          live_bytes);
    for (i = 0; i < NCODES; i++) {
        CHECK(Py_REFCNT(codes[i]) == code_refcnt[i],
              "code %d: %zd references, %zd before", i, Py_REFCNT(codes[i]),
              code_refcnt[i]);
    }
    free(buffer);
    return 0;
}
