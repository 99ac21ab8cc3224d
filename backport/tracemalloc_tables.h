/* The tracer's memory and its table of traces.
 *
 * A trace says "the block at this address has this size and was allocated
 * at this traceback".  The trace table maps block addresses to traces with
 * open addressing, so adding a trace never calls malloc() (only growing the
 * table does), and a trace costs 16 bytes of table on 64-bit platforms.
 *
 * Nothing here knows about Python objects or locks: the caller serializes
 * every access to a table and to the heap it uses.
 */

#ifndef TRACEMALLOC_TABLES_H
#define TRACEMALLOC_TABLES_H

#include "Python.h"

/* ------------------------------------------------------------------------
 * The tracer's heap
 *
 * Every byte the tracer allocates for itself comes from the allocator it
 * saved when tracing started (the one below its hooks), so its own memory
 * is never traced, and every byte is counted in `*used` (which several
 * heaps may share), so that get_tracemalloc_memory() reports it exactly.
 */

typedef struct {
    PyMemAllocatorEx allocator;
    size_t *used;               /* counter of the bytes allocated */
} tracer_heap_t;

/* Return NULL if nelem * elsize overflows or the allocator fails. */
void *tracer_heap_alloc(tracer_heap_t *heap, size_t nelem, size_t elsize,
                        int zeroed);
/* `size` must be the size that was allocated (nelem * elsize). */
void tracer_heap_free(tracer_heap_t *heap, void *ptr, size_t size);


/* ------------------------------------------------------------------------
 * The trace table
 */

/* Index of a traceback in the traceback store (see tracemalloc_tracebacks.h).
 * 32 bits keep a slot at 16 bytes. */
typedef uint32_t traceback_index_t;

/* A slot of the table.  Blocks of 4 GiB - 1 and more keep their size in a
 * short side list (see trace_table_t.huge): there can only ever be a few. */
typedef struct {
    uintptr_t ptr;              /* block address; 0 marks a free slot */
    traceback_index_t traceback;
    uint32_t size;              /* or TRACE_SIZE_HUGE */
} trace_slot_t;

#define TRACE_SIZE_HUGE ((uint32_t)0xFFFFFFFFu)

typedef struct {
    uintptr_t ptr;
    size_t size;
} huge_block_t;

typedef struct {
    trace_slot_t *slots;        /* NULL until the first trace is added */
    size_t capacity;            /* 0 or a power of two */
    size_t count;               /* traces in the table */
    unsigned int shift;         /* bits of uintptr_t - log2(capacity) */

    huge_block_t *huge;         /* sizes of the huge blocks */
    size_t huge_count;
    size_t huge_capacity;
} trace_table_t;

/* A zero-filled trace_table_t is an empty table. */

/* Bytes the table's arrays occupy (what it costs the tracer's heap). */
size_t trace_table_memory(const trace_table_t *table);

/* Free the table's arrays: the table becomes empty. */
void trace_table_clear(trace_table_t *table, tracer_heap_t *heap);

/* Look up the trace of `ptr`: return 1 and fill *traceback and *size
 * (either pointer may be NULL), or return 0 if `ptr` has no trace. */
int trace_table_get(const trace_table_t *table, uintptr_t ptr,
                    traceback_index_t *traceback, size_t *size);

/* Record a trace for `ptr`, replacing the trace it may already have (a
 * block freed behind the tracer's back and allocated again).
 * Return 0 on success, -1 if the tracer's heap is exhausted: then `ptr` has
 * no trace at all afterwards, never a stale one.  Either way *old_size is
 * set to the size of the trace that was replaced or removed and *replaced
 * to 1, or *replaced to 0 if `ptr` had no trace. */
int trace_table_set(trace_table_t *table, tracer_heap_t *heap,
                    uintptr_t ptr, traceback_index_t traceback, size_t size,
                    int *replaced, size_t *old_size);

/* Change the traceback of the trace of `ptr`.  Return 0 if it has none. */
int trace_table_set_traceback(trace_table_t *table, uintptr_t ptr,
                              traceback_index_t traceback);

/* Remove the trace of `ptr`: return 1 and fill *traceback and *size (either
 * may be NULL), or return 0 if `ptr` has no trace.  May shrink the table. */
int trace_table_pop(trace_table_t *table, tracer_heap_t *heap, uintptr_t ptr,
                    traceback_index_t *traceback, size_t *size);

/* Iterate over the traces, in no particular order:
 *
 *     size_t pos = 0;
 *     while (trace_table_next(table, &pos, &ptr, &traceback, &size)) ...
 *
 * The table must not change during the iteration. */
int trace_table_next(const trace_table_t *table, size_t *pos,
                     uintptr_t *ptr, traceback_index_t *traceback,
                     size_t *size);

#endif /* !TRACEMALLOC_TABLES_H */
