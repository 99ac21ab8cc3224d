/* The tracer's memory and its table of traces: see tracemalloc_tables.h. */

#include "tracemalloc_tables.h"

#include <string.h>


/* ==========================================================================
 * The tracer's heap
 */

void *
tracer_heap_alloc(tracer_heap_t *heap, size_t nelem, size_t elsize,
                  int zeroed)
{
    PyMemAllocatorEx *alloc = &heap->allocator;
    size_t size;
    void *ptr;

    /* The allocators may only be asked for up to PY_SSIZE_T_MAX bytes. */
    if (elsize != 0 && nelem > (size_t)PY_SSIZE_T_MAX / elsize) {
        return NULL;
    }
    size = nelem * elsize;
    if (zeroed) {
        ptr = alloc->calloc(alloc->ctx, nelem, elsize);
    }
    else {
        ptr = alloc->malloc(alloc->ctx, size);
    }
    if (ptr != NULL) {
        *heap->used += size;
    }
    return ptr;
}

void
tracer_heap_free(tracer_heap_t *heap, void *ptr, size_t size)
{
    if (ptr == NULL) {
        return;
    }
    assert(*heap->used >= size);
    *heap->used -= size;
    heap->allocator.free(heap->allocator.ctx, ptr);
}


/* ==========================================================================
 * Trace table: open addressing with linear probing
 *
 * Why linear probing: a lookup touches one or two cache lines, removal
 * needs no tombstones (the entries after the hole are shifted back), and a
 * slot is just the trace itself.
 *
 * Why Fibonacci hashing (multiply by 2^N / golden ratio, keep the top
 * bits): block addresses share their low bits (alignment) and often their
 * high bits; the multiplication mixes every bit into the top ones.
 *
 * The table stays at most 11/16 full and shrinks when it falls under 1/8,
 * so a trace costs 16 / (11/16) = 23 to 2 * 23 = 47 bytes of table on a
 * 64-bit platform while the table is growing.
 */

#if SIZEOF_VOID_P == 8
#  define FIBONACCI_MULTIPLIER ((uintptr_t)0x9E3779B97F4A7C15ULL)
#else
#  define FIBONACCI_MULTIPLIER ((uintptr_t)0x9E3779B9UL)
#endif
#define UINTPTR_BITS (8 * (unsigned int)sizeof(uintptr_t))

#define MIN_CAPACITY 64         /* a power of two, a multiple of 16 */
#define MAX_COUNT(capacity) ((capacity) / 16 * 11)

static size_t
home_index(const trace_table_t *table, uintptr_t ptr)
{
    return (size_t)((ptr * FIBONACCI_MULTIPLIER) >> table->shift);
}

/* Return the slot holding `ptr`, or the free slot that ends its probe
 * sequence (where `ptr` would be added).  The table must have slots. */
static trace_slot_t *
find_slot(const trace_table_t *table, uintptr_t ptr)
{
    size_t mask = table->capacity - 1;
    size_t i = home_index(table, ptr);
    trace_slot_t *slot;

    for (;;) {
        slot = &table->slots[i];
        if (slot->ptr == ptr || slot->ptr == 0) {
            return slot;
        }
        i = (i + 1) & mask;
    }
}

static unsigned int
log2_of_power_of_two(size_t n)
{
    unsigned int log2 = 0;

    while (n > 1) {
        n >>= 1;
        log2++;
    }
    return log2;
}

/* Move every trace into a new array of `capacity` slots.
 * Return -1 (and leave the table as it was) if memory is exhausted. */
static int
resize(trace_table_t *table, tracer_heap_t *heap, size_t capacity)
{
    trace_slot_t *old_slots = table->slots;
    size_t old_capacity = table->capacity;
    trace_slot_t *slots;
    size_t i;

    assert(MAX_COUNT(capacity) >= table->count);
    slots = (trace_slot_t *)tracer_heap_alloc(heap, capacity,
                                              sizeof(trace_slot_t), 1);
    if (slots == NULL) {
        return -1;
    }
    table->slots = slots;
    table->capacity = capacity;
    table->shift = UINTPTR_BITS - log2_of_power_of_two(capacity);

    for (i = 0; i < old_capacity; i++) {
        if (old_slots[i].ptr != 0) {
            *find_slot(table, old_slots[i].ptr) = old_slots[i];
        }
    }
    tracer_heap_free(heap, old_slots, old_capacity * sizeof(trace_slot_t));
    return 0;
}

/* Empty `slot`, then shift back the traces after it that probed past it,
 * so that no probe sequence crosses a free slot. */
static void
delete_slot(trace_table_t *table, trace_slot_t *slot)
{
    size_t mask = table->capacity - 1;
    size_t hole = (size_t)(slot - table->slots);
    size_t i = hole;
    size_t home;

    for (;;) {
        i = (i + 1) & mask;
        if (table->slots[i].ptr == 0) {
            break;
        }
        home = home_index(table, table->slots[i].ptr);
        /* The trace at i may fill the hole unless its home lies
           cyclically in (hole, i]. */
        if (hole <= i ? (home <= hole || home > i)
                      : (home <= hole && home > i)) {
            table->slots[hole] = table->slots[i];
            hole = i;
        }
    }
    table->slots[hole].ptr = 0;
    table->count--;
}


/* --------------------------------------------------------------------------
 * Huge blocks: their sizes do not fit in a slot; they are few, since each
 * takes 4 GiB of address space, so an unsorted array will do.
 */

static huge_block_t *
huge_find(const trace_table_t *table, uintptr_t ptr)
{
    size_t i;

    for (i = 0; i < table->huge_count; i++) {
        if (table->huge[i].ptr == ptr) {
            return &table->huge[i];
        }
    }
    return NULL;
}

static int
huge_add(trace_table_t *table, tracer_heap_t *heap, uintptr_t ptr,
         size_t size)
{
    if (table->huge_count == table->huge_capacity) {
        size_t capacity = table->huge_capacity ? 2 * table->huge_capacity : 4;
        huge_block_t *huge;

        huge = (huge_block_t *)tracer_heap_alloc(heap, capacity,
                                                 sizeof(huge_block_t), 0);
        if (huge == NULL) {
            return -1;
        }
        if (table->huge_count != 0) {
            memcpy(huge, table->huge,
                   table->huge_count * sizeof(huge_block_t));
        }
        tracer_heap_free(heap, table->huge,
                         table->huge_capacity * sizeof(huge_block_t));
        table->huge = huge;
        table->huge_capacity = capacity;
    }
    table->huge[table->huge_count].ptr = ptr;
    table->huge[table->huge_count].size = size;
    table->huge_count++;
    return 0;
}

/* Remove the huge block `ptr` (which must be listed); return its size. */
static size_t
huge_pop(trace_table_t *table, uintptr_t ptr)
{
    huge_block_t *huge = huge_find(table, ptr);
    size_t size;

    assert(huge != NULL);
    size = huge->size;
    *huge = table->huge[table->huge_count - 1];
    table->huge_count--;
    return size;
}

static size_t
slot_size(const trace_table_t *table, const trace_slot_t *slot)
{
    if (slot->size == TRACE_SIZE_HUGE) {
        return huge_find(table, slot->ptr)->size;
    }
    return slot->size;
}


/* --------------------------------------------------------------------------
 * The table's interface
 */

size_t
trace_table_memory(const trace_table_t *table)
{
    return (table->capacity * sizeof(trace_slot_t)
            + table->huge_capacity * sizeof(huge_block_t));
}

void
trace_table_clear(trace_table_t *table, tracer_heap_t *heap)
{
    tracer_heap_free(heap, table->slots,
                     table->capacity * sizeof(trace_slot_t));
    tracer_heap_free(heap, table->huge,
                     table->huge_capacity * sizeof(huge_block_t));
    memset(table, 0, sizeof(*table));
}

int
trace_table_get(const trace_table_t *table, uintptr_t ptr,
                traceback_index_t *traceback, size_t *size)
{
    const trace_slot_t *slot;

    if (table->count == 0) {
        return 0;
    }
    slot = find_slot(table, ptr);
    if (slot->ptr == 0) {
        return 0;
    }
    if (traceback != NULL) {
        *traceback = slot->traceback;
    }
    if (size != NULL) {
        *size = slot_size(table, slot);
    }
    return 1;
}

/* trace_table_set() when the table may have to grow, or a size is huge. */
static int
set_slow(trace_table_t *table, tracer_heap_t *heap,
         uintptr_t ptr, traceback_index_t traceback, size_t size,
         int *replaced, size_t *old_size)
{
    int huge = (size >= TRACE_SIZE_HUGE);
    trace_slot_t *slot = NULL;

    if (table->count != 0) {
        slot = find_slot(table, ptr);
        if (slot->ptr == ptr) {
            /* The block was freed without the tracer knowing: the new
               trace replaces the stale one. */
            int was_huge = (slot->size == TRACE_SIZE_HUGE);

            *replaced = 1;
            *old_size = slot_size(table, slot);
            if (huge && was_huge) {
                huge_find(table, ptr)->size = size;
            }
            else if (huge) {
                if (huge_add(table, heap, ptr, size) < 0) {
                    delete_slot(table, slot);
                    return -1;
                }
            }
            else if (was_huge) {
                (void)huge_pop(table, ptr);
            }
            slot->traceback = traceback;
            slot->size = huge ? TRACE_SIZE_HUGE : (uint32_t)size;
            return 0;
        }
    }

    if (table->count + 1 > MAX_COUNT(table->capacity)) {
        size_t capacity = table->capacity ? 2 * table->capacity
                                          : MIN_CAPACITY;
        if (resize(table, heap, capacity) < 0) {
            return -1;
        }
        slot = NULL;
    }
    if (slot == NULL || slot->ptr != 0) {
        slot = find_slot(table, ptr);
    }
    if (huge && huge_add(table, heap, ptr, size) < 0) {
        return -1;
    }
    slot->ptr = ptr;
    slot->traceback = traceback;
    slot->size = huge ? TRACE_SIZE_HUGE : (uint32_t)size;
    table->count++;
    return 0;
}

int
trace_table_set(trace_table_t *table, tracer_heap_t *heap,
                uintptr_t ptr, traceback_index_t traceback, size_t size,
                int *replaced, size_t *old_size)
{
    trace_slot_t *slot;

    assert(ptr != 0);
    *replaced = 0;
    *old_size = 0;

    /* The common case, kept short: room for one more trace, and no huge
       size on either side. */
    if (size < TRACE_SIZE_HUGE
        && table->count + 1 <= MAX_COUNT(table->capacity)) {
        slot = find_slot(table, ptr);
        if (slot->ptr == 0) {
            slot->ptr = ptr;
            slot->traceback = traceback;
            slot->size = (uint32_t)size;
            table->count++;
            return 0;
        }
        if (slot->size != TRACE_SIZE_HUGE) {
            /* The block was freed without the tracer knowing: the new
               trace replaces the stale one. */
            *replaced = 1;
            *old_size = slot->size;
            slot->traceback = traceback;
            slot->size = (uint32_t)size;
            return 0;
        }
    }
    return set_slow(table, heap, ptr, traceback, size, replaced, old_size);
}

int
trace_table_set_traceback(trace_table_t *table, uintptr_t ptr,
                          traceback_index_t traceback)
{
    trace_slot_t *slot;

    if (table->count == 0) {
        return 0;
    }
    slot = find_slot(table, ptr);
    if (slot->ptr == 0) {
        return 0;
    }
    slot->traceback = traceback;
    return 1;
}

int
trace_table_pop(trace_table_t *table, tracer_heap_t *heap, uintptr_t ptr,
                traceback_index_t *traceback, size_t *size)
{
    trace_slot_t *slot;

    if (table->count == 0) {
        return 0;
    }
    slot = find_slot(table, ptr);
    if (slot->ptr == 0) {
        return 0;
    }
    if (traceback != NULL) {
        *traceback = slot->traceback;
    }
    if (slot->size == TRACE_SIZE_HUGE) {
        size_t huge_size = huge_pop(table, ptr);
        if (size != NULL) {
            *size = huge_size;
        }
    }
    else if (size != NULL) {
        *size = slot->size;
    }
    delete_slot(table, slot);

    /* Give memory back once the table is mostly empty; keep the table if
       the smaller array cannot be had. */
    if (table->capacity > MIN_CAPACITY
        && table->count < table->capacity / 8) {
        size_t capacity = table->capacity / 4;
        if (capacity < MIN_CAPACITY) {
            capacity = MIN_CAPACITY;
        }
        (void)resize(table, heap, capacity);
    }
    return 1;
}

int
trace_table_next(const trace_table_t *table, size_t *pos,
                 uintptr_t *ptr, traceback_index_t *traceback, size_t *size)
{
    size_t i;

    for (i = *pos; i < table->capacity; i++) {
        const trace_slot_t *slot = &table->slots[i];
        if (slot->ptr != 0) {
            *ptr = slot->ptr;
            *traceback = slot->traceback;
            *size = slot_size(table, slot);
            *pos = i + 1;
            return 1;
        }
    }
    *pos = table->capacity;
    return 0;
}
