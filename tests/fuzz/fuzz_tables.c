/* Fuzz target: the trace table (backport/tracemalloc_tables.c) against a
 * reference model.
 *
 * The input is a program of table operations: set, pop, get, change a
 * traceback, clear, insert or remove many at once, iterate, and make the
 * heap fail (the next Nth allocation, or every one for a while).  After
 * every operation the table must agree with the model, a plain array
 * searched linearly:
 *
 *   - the same traces (address, traceback, size), huge sizes included;
 *   - set() that fails leaves the address with no trace, never a stale one,
 *     and reports the trace it replaced or removed;
 *   - count, capacity (a power of two, at most 11/16 full), the huge side
 *     list holding exactly the huge sizes;
 *   - the heap counter equals both the bytes the allocator below holds and
 *     trace_table_memory(); after clear(), nothing is held.
 *
 * Built with libFuzzer (clang -fsanitize=fuzzer,address,undefined) or with
 * tests/fuzz/driver.c (gcc, any sanitizer).  Assertions of the table code
 * stay on (no NDEBUG).
 */

#include "tracemalloc_tables.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ==========================================================================
 * Reading the input
 */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
} input_t;

static int
more(const input_t *in)
{
    return in->pos < in->size;
}

static uint8_t
read_u8(input_t *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint32_t
read_u32(input_t *in)
{
    uint32_t value = 0;
    int i;

    for (i = 0; i < 4; i++) {
        value = (value << 8) | read_u8(in);
    }
    return value;
}

static uint64_t
read_u64(input_t *in)
{
    uint64_t high = read_u32(in);

    return (high << 32) | read_u32(in);
}


/* ==========================================================================
 * The heap below the table: counts what it holds, fails on request
 */

static size_t live_bytes;
static unsigned long countdown;     /* fail when it reaches 1; 0: never */
static int failing;                 /* fail every request while set */

static int
heap_fails(void)
{
    if (failing) {
        return 1;
    }
    if (countdown != 0 && --countdown == 0) {
        return 1;
    }
    return 0;
}

/* Each block starts with its size. */
#define HEADER 16

static void *
heap_malloc(void *ctx, size_t size)
{
    char *block;

    (void)ctx;
    if (heap_fails()) {
        return NULL;
    }
    block = (char *)malloc(HEADER + size);
    if (block == NULL) {
        return NULL;
    }
    memcpy(block, &size, sizeof(size));
    live_bytes += size;
    return block + HEADER;
}

static void *
heap_calloc(void *ctx, size_t nelem, size_t elsize)
{
    char *ptr = (char *)heap_malloc(ctx, nelem * elsize);

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
    fprintf(stderr, "the table must not realloc()\n");
    abort();
}

static void
heap_free(void *ctx, void *ptr)
{
    size_t size;

    (void)ctx;
    if (ptr == NULL) {
        return;
    }
    memcpy(&size, (char *)ptr - HEADER, sizeof(size));
    if (size > live_bytes) {
        fprintf(stderr, "freeing %zu bytes, %zu live\n", size, live_bytes);
        abort();
    }
    live_bytes -= size;
    free((char *)ptr - HEADER);
}


/* ==========================================================================
 * The model
 */

typedef struct {
    uintptr_t ptr;
    traceback_index_t traceback;
    size_t size;
} model_trace_t;

/* Sorted by address: a binary search finds a trace, memmove() makes room
 * (simple enough to trust, quick enough for thousands of traces). */
#define MODEL_MAX 3000

static model_trace_t model[MODEL_MAX];
static size_t model_count;
static size_t model_huge;           /* traces of a huge size */

/* The position of `ptr`, or where it would go. */
static size_t
model_position(uintptr_t ptr)
{
    size_t low = 0, high = model_count;

    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (model[middle].ptr < ptr) {
            low = middle + 1;
        }
        else {
            high = middle;
        }
    }
    return low;
}

static model_trace_t *
model_find(uintptr_t ptr)
{
    size_t i = model_position(ptr);

    return (i < model_count && model[i].ptr == ptr) ? &model[i] : NULL;
}

static void
model_set(uintptr_t ptr, traceback_index_t traceback, size_t size)
{
    size_t i = model_position(ptr);

    if (i < model_count && model[i].ptr == ptr) {
        model_huge -= (model[i].size >= TRACE_SIZE_HUGE);
    }
    else {
        memmove(&model[i + 1], &model[i],
                (model_count - i) * sizeof(model_trace_t));
        model_count++;
    }
    model[i].ptr = ptr;
    model[i].traceback = traceback;
    model[i].size = size;
    model_huge += (size >= TRACE_SIZE_HUGE);
}

static void
model_remove(uintptr_t ptr)
{
    size_t i = model_position(ptr);

    if (i < model_count && model[i].ptr == ptr) {
        model_huge -= (model[i].size >= TRACE_SIZE_HUGE);
        memmove(&model[i], &model[i + 1],
                (model_count - i - 1) * sizeof(model_trace_t));
        model_count--;
    }
}


/* ==========================================================================
 * Checks
 */

#define CHECK(cond, ...) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_tables: %s: ", #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)

static int
is_power_of_two(size_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

static void
check_table(const trace_table_t *table, size_t heap_used)
{
    CHECK(table->count == model_count, "count %zu, model %zu",
          table->count, model_count);
    CHECK(heap_used == live_bytes, "heap counter %zu, allocator %zu",
          heap_used, live_bytes);
    CHECK(trace_table_memory(table) == live_bytes,
          "trace_table_memory() %zu, allocator %zu",
          trace_table_memory(table), live_bytes);
    if (table->capacity != 0) {
        CHECK(is_power_of_two(table->capacity), "capacity %zu",
              table->capacity);
        CHECK(table->count <= table->capacity / 16 * 11,
              "%zu traces in %zu slots", table->count, table->capacity);
    }
    CHECK(table->huge_count == model_huge,
          "%zu huge blocks listed, %zu in model", table->huge_count,
          model_huge);
}

static int
compare_traces(const void *a, const void *b)
{
    uintptr_t x = ((const model_trace_t *)a)->ptr;
    uintptr_t y = ((const model_trace_t *)b)->ptr;

    return x < y ? -1 : x > y;
}

/* Every model trace is in the table, and the table iterates over exactly
 * them, each once. */
static void
check_contents(const trace_table_t *table)
{
    static model_trace_t listed[MODEL_MAX + 1];
    size_t i, pos = 0, seen = 0;
    uintptr_t ptr;
    traceback_index_t traceback;
    size_t size;

    for (i = 0; i < model_count; i++) {
        CHECK(trace_table_get(table, model[i].ptr, &traceback, &size),
              "%#lx missing", (unsigned long)model[i].ptr);
        CHECK(traceback == model[i].traceback && size == model[i].size,
              "%#lx: (%u, %zu), model (%u, %zu)",
              (unsigned long)model[i].ptr, traceback, size,
              model[i].traceback, model[i].size);
    }
    while (trace_table_next(table, &pos, &ptr, &traceback, &size)) {
        CHECK(seen < model_count, "iteration gives more than %zu traces",
              model_count);
        listed[seen].ptr = ptr;
        listed[seen].traceback = traceback;
        listed[seen].size = size;
        seen++;
    }
    CHECK(seen == model_count, "iteration gives %zu traces, model %zu",
          seen, model_count);
    qsort(listed, seen, sizeof(model_trace_t), compare_traces);
    for (i = 0; i < seen; i++) {
        CHECK(listed[i].ptr == model[i].ptr
              && listed[i].traceback == model[i].traceback
              && listed[i].size == model[i].size,
              "iteration: %#lx differs from the model",
              (unsigned long)listed[i].ptr);
    }
}


/* ==========================================================================
 * Operations
 */

/* Addresses: mostly from a small pool (so that they collide and come
 * back), aligned like malloc()'s; sometimes anything but 0. */
static uintptr_t
pick_ptr(input_t *in)
{
    uint8_t how = read_u8(in);
    uintptr_t ptr;

    if (how < 200) {
        return (uintptr_t)0x7f0000000000ULL + (uintptr_t)(how % 97) * 16
               + (uintptr_t)(how / 97) * 0x100000;
    }
    ptr = (uintptr_t)read_u64(in);
    return ptr != 0 ? ptr : 1;
}

static size_t
pick_size(input_t *in)
{
    uint8_t how = read_u8(in);

    switch (how % 8) {
    case 0:
        return 0;
    case 1:
        return TRACE_SIZE_HUGE - 1 - (how >> 3);
    case 2:
        return (size_t)TRACE_SIZE_HUGE + (how >> 3);
#if SIZEOF_SIZE_T == 8
    case 3:
        return (size_t)read_u64(in) >> (how >> 3);
#endif
    default:
        return read_u32(in) >> (how >> 3);
    }
}

static void
op_set(trace_table_t *table, tracer_heap_t *heap, uintptr_t ptr,
       traceback_index_t traceback, size_t size)
{
    model_trace_t *old = model_find(ptr);
    int replaced = -1;
    size_t old_size = 12345;
    int res;

    if (old == NULL && model_count == MODEL_MAX) {
        return;     /* the model is full: a bigger table proves nothing */
    }
    res = trace_table_set(table, heap, ptr, traceback, size, &replaced,
                          &old_size);
    CHECK(res == 0 || res == -1, "set() returned %d", res);
    if (res == 0) {
        CHECK(replaced == (old != NULL), "set(): replaced %d", replaced);
        if (old != NULL) {
            CHECK(old_size == old->size, "set(): old size %zu, model %zu",
                  old_size, old->size);
        }
        model_set(ptr, traceback, size);
    }
    else {
        /* the address keeps no trace, and the caller learns which one it
           lost */
        CHECK(!trace_table_get(table, ptr, NULL, NULL),
              "a failed set() left a trace for %#lx", (unsigned long)ptr);
        CHECK(replaced == (old != NULL), "failed set(): replaced %d",
              replaced);
        if (old != NULL) {
            CHECK(old_size == old->size,
                  "failed set(): old size %zu, model %zu", old_size,
                  old->size);
            model_remove(ptr);
        }
    }
}

static void
op_pop(trace_table_t *table, tracer_heap_t *heap, uintptr_t ptr)
{
    model_trace_t *old = model_find(ptr);
    traceback_index_t traceback = 0;
    size_t size = 0;
    int found;

    found = trace_table_pop(table, heap, ptr, &traceback, &size);
    CHECK(found == (old != NULL), "pop(%#lx) found %d",
          (unsigned long)ptr, found);
    if (old != NULL) {
        CHECK(traceback == old->traceback && size == old->size,
              "pop(): (%u, %zu), model (%u, %zu)", traceback, size,
              old->traceback, old->size);
        model_remove(ptr);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size, 0};
    trace_table_t table;
    tracer_heap_t heap;
    size_t used = 0;
    unsigned int ops = 0;

    memset(&table, 0, sizeof(table));
    heap.allocator.ctx = NULL;
    heap.allocator.malloc = heap_malloc;
    heap.allocator.calloc = heap_calloc;
    heap.allocator.realloc = heap_realloc;
    heap.allocator.free = heap_free;
    heap.used = &used;
    live_bytes = 0;
    countdown = 0;
    failing = 0;
    model_count = 0;
    model_huge = 0;

    while (more(&in) && ops++ < 500) {
        uint8_t op = read_u8(&in);
        uintptr_t ptr;
        traceback_index_t traceback;
        size_t i, n;

        switch (op % 10) {
        case 0:
        case 1:
        case 2:
            ptr = pick_ptr(&in);
            traceback = read_u32(&in);
            op_set(&table, &heap, ptr, traceback, pick_size(&in));
            break;
        case 3:
            op_pop(&table, &heap, pick_ptr(&in));
            break;
        case 4: {
            model_trace_t *old;
            int found;

            ptr = pick_ptr(&in);
            traceback = read_u32(&in);
            old = model_find(ptr);
            found = trace_table_set_traceback(&table, ptr, traceback);
            CHECK(found == (old != NULL), "set_traceback() found %d",
                  found);
            if (old != NULL) {
                old->traceback = traceback;
            }
            break;
        }
        case 5:
            trace_table_clear(&table, &heap);
            model_count = 0;
            model_huge = 0;
            CHECK(used == 0 && live_bytes == 0,
                  "after clear(): %zu bytes counted, %zu held", used,
                  live_bytes);
            break;
        case 6:
            /* the heap fails: the Nth allocation from now, or all of them
               until the next such operation */
            n = read_u8(&in);
            if (n == 0) {
                failing = !failing;
            }
            else {
                countdown = n % 16;
            }
            break;
        case 7:
            /* many at once: the table grows */
            n = read_u8(&in) * 8;
            ptr = (uintptr_t)0x7e0000000000ULL
                  + (uintptr_t)read_u8(&in) * 4096;
            for (i = 0; i < n && model_count < MODEL_MAX - 1; i++) {
                op_set(&table, &heap, ptr + i * 16, (traceback_index_t)i,
                       i * 3);
            }
            break;
        case 8:
            /* remove many: the table shrinks */
            n = read_u8(&in) % 4 + 2;
            for (i = model_count; i-- > 0; ) {
                if (i % n != 0) {
                    op_pop(&table, &heap, model[i].ptr);
                }
            }
            break;
        default:
            /* compare everything now and then, a few traces otherwise */
            n = read_u8(&in);
            if (n % 16 == 0 || model_count < 64) {
                check_contents(&table);
            }
            else {
                for (i = n % 7; i < model_count; i += model_count / 32) {
                    size_t found_size;
                    CHECK(trace_table_get(&table, model[i].ptr, &traceback,
                                          &found_size)
                          && traceback == model[i].traceback
                          && found_size == model[i].size,
                          "%#lx differs from the model",
                          (unsigned long)model[i].ptr);
                }
            }
            break;
        }
        check_table(&table, used);
    }
    check_contents(&table);
    failing = 0;
    countdown = 0;
    trace_table_clear(&table, &heap);
    CHECK(used == 0 && live_bytes == 0, "at the end: %zu bytes held",
          live_bytes);
    return 0;
}
