/* Tracebacks: captured from the Python stack, interned, turned into tuples.
 *
 * A traceback is captured as (code, f_lasti) pairs, most recent call first,
 * where "code" is what line numbers need of a code object: its filename,
 * co_lnotab and co_firstlineno (a code_info_t).  Line numbers are computed
 * only when Python asks for them.  An allocation costs a walk up the frames
 * and a hash lookup, or usually just a lookup in a cache keyed by the
 * innermost frame and instruction (see "The frame cache" in
 * tracemalloc_tracebacks.c).
 *
 * Tracebacks are interned in a store: equal tracebacks have one index, and
 * a trace only keeps that 32-bit index.  A store only grows; the tracer
 * replaces the whole store when traces are cleared.  The store holds no
 * reference to code objects: a code object dies when its program is done
 * with it, tracing or not, and its tracebacks keep their filenames and line
 * numbers (the store holds the filename and co_lnotab strings instead).
 *
 * Every function here must be called with the GIL held.
 */

#ifndef TRACEMALLOC_TRACEBACKS_H
#define TRACEMALLOC_TRACEBACKS_H

#include "Python.h"
#include "frameobject.h"

#include <stddef.h>
#include "tracemalloc_tables.h"

/* The traceback of memory allocated without a Python frame to blame (no
 * thread state, a thread not holding the GIL, or an empty stack): it reads
 * as one frame, ("<unknown>", 0), as in CPython.  It exists in every store,
 * and without a store. */
#define TRACEBACK_UNKNOWN ((traceback_index_t)0)

/* Returned instead of an index when the tracer's memory is exhausted. */
#define TRACEBACK_FAILED ((traceback_index_t)0xFFFFFFFFu)

/* CPython's limits: nframe in [1; 65535], total_nframe saturates at
 * 65535. */
#define TRACEBACK_MAX_NFRAME 65535

/* What the line numbers of a code object need, interned by value: code
 * objects with equal filenames, co_lnotab and co_firstlineno share one. */
typedef struct code_info code_info_t;

/* Neither struct has padding: tracebacks are compared with memcmp(). */
typedef struct {
    const code_info_t *code;    /* NULL in the unknown frame */
    Py_ssize_t lasti;           /* the frame's f_lasti */
} frame_t;

typedef struct {
    uint32_t hash;
    uint16_t nframe;            /* frames stored, at most the limit */
    uint16_t total_nframe;      /* frames on the stack, up to 65535 */
    frame_t frames[1];          /* most recent call first */
} traceback_t;

#define TRACEBACK_SIZE(NFRAME) \
    (offsetof(traceback_t, frames) + (size_t)(NFRAME) * sizeof(frame_t))

typedef struct traceback_store traceback_store_t;

/* Return a new store with one reference, or NULL if memory is exhausted.
 * All its memory comes from `allocator` and is counted in `*used`. */
traceback_store_t *traceback_store_new(const PyMemAllocatorEx *allocator,
                                       size_t *used);

void traceback_store_incref(traceback_store_t *store);

/* Drop a reference; the last one releases the filenames and co_lnotab
 * strings (freeing memory, which runs the tracer's hooks) and frees the
 * store. */
void traceback_store_decref(traceback_store_t *store);

/* Capture the Python stack of `tstate` (the calling thread's state; it must
 * hold the GIL) and intern it.  `buffer` has room for `max_nframe` frames.
 * Return the traceback's index, TRACEBACK_UNKNOWN if the stack is empty, or
 * TRACEBACK_FAILED. */
traceback_index_t traceback_store_capture(traceback_store_t *store,
                                          PyThreadState *tstate,
                                          traceback_t *buffer,
                                          int max_nframe);

/* Capture caches facts about frames by frame address.  The tracer must call
 * this for every address where a frame may start a new life: a frame handed
 * out again by a free list, a freed or moved OBJ block (with the address the
 * object would have, after its GC header). */
void traceback_forget_frame(traceback_store_t *store, const void *frame);

/* Number of traceback indexes in use, TRACEBACK_UNKNOWN included.  `store`
 * may be NULL (no traceback was interned yet). */
size_t traceback_store_count(const traceback_store_t *store);

/* The frames of a traceback as a tuple of (filename, lineno) tuples, most
 * recent call first (a new reference; NULL with an exception set). */
PyObject *traceback_store_frames(traceback_store_t *store,
                                 traceback_index_t index);

unsigned int traceback_store_total_nframe(traceback_store_t *store,
                                          traceback_index_t index);

/* Tracebacks of objects that a free list handed out again, by object
 * address (for objects with no trace of their own, such as 2.7's ints and
 * floats, which live inside blocks of their free lists). */
int traceback_store_set_reused(traceback_store_t *store, uintptr_t address,
                               traceback_index_t index);
int traceback_store_get_reused(traceback_store_t *store, uintptr_t address,
                               traceback_index_t *index);

#endif /* !TRACEMALLOC_TRACEBACKS_H */
