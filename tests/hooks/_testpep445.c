/* _testpep445 - tests of the PEP 445 allocator hooks backported to 2.7
 * and 3.3.
 *
 * Built against the headers of the patched interpreter.  Everything that
 * must not be disturbed by Python's own allocations (the hooks' logs, the
 * counters) is done in C between installing and uninstalling the hooks;
 * the results are turned into Python objects only afterwards.
 *
 * C89 with the C99 bits that gcc 4.4 knows, plus the __sync builtins of
 * gcc >= 4.1 for the counters that a thread without the GIL updates.
 */

#include "Python.h"
#include "frameobject.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#ifndef Py_PEP445_BACKPORT
#error "_testpep445 needs the headers of an interpreter with PEP 445"
#endif

#define ATOMIC_ADD(var, n) ((void)__sync_fetch_and_add(&(var), (n)))

/* 3.3: the 2.7 names used below.  2.7's str is 3.3's bytes (the objects
   that the interpreter allocates for interp_op() and fail_during(), the
   result of fresh_bytes()); the names given to the functions are str, read
   by text_of(); the module is initialized the 3.x way (at the end). */
#if PY_MAJOR_VERSION >= 3
#  define PyInt_Check PyLong_Check
#  define PyInt_AsLong PyLong_AsLong
#  define PyInt_FromLong PyLong_FromLong
#  define PyInt_FromSsize_t PyLong_FromSsize_t
#  define PyString_FromFormat PyUnicode_FromFormat
#  define PyString_FromStringAndSize PyBytes_FromStringAndSize
#  define PyStringObject PyBytesObject
#endif

/* The UTF-8 text of a str, or NULL with TypeError (`what` is what it is). */
static const char *
text_of(PyObject *obj, const char *what)
{
#if PY_MAJOR_VERSION >= 3
    if (PyUnicode_Check(obj))
        return PyUnicode_AsUTF8(obj);
#else
    if (PyString_Check(obj))
        return PyString_AS_STRING(obj);
#endif
    PyErr_Format(PyExc_TypeError, "%s must be a str", what);
    return NULL;
}

/* ---- allocator hooks that log their calls ----------------------------- */

#define NDOMAINS 3
#define NLAYERS 2
#define NHOOKS (NDOMAINS * NLAYERS)     /* hook i: domain i % 3, layer i / 3 */
#define LOG_SIZE 512

enum { EV_MALLOC, EV_CALLOC, EV_REALLOC, EV_FREE, NKINDS };

static const char *const hook_names[NHOOKS] = {
    "raw", "mem", "obj", "raw2", "mem2", "obj2"
};
static const char *const kind_names[NKINDS] = {
    "malloc", "calloc", "realloc", "free"
};
static const char *const field_names[5] = {
    "ctx", "malloc", "calloc", "realloc", "free"
};

typedef struct {
    int hook;           /* index in hooks[] */
    int kind;           /* EV_* */
    size_t size;        /* malloc, realloc: size; calloc: nelem */
    size_t elsize;      /* calloc */
    void *ptr;          /* realloc, free: the block passed */
    void *result;       /* malloc, calloc, realloc: what was returned */
    int in_thread;      /* called from the thread of raw_from_thread() */
} event_t;

typedef struct {
    int installed;
    int failing;                /* return NULL, never call the wrapped one */
    PyMemAllocatorEx wrapped;   /* the domain's allocator before ours */
    PyMemAllocatorEx mine;      /* what we installed */
    long ncalls[NKINDS];
    size_t nbytes[NKINDS];      /* bytes asked for (free: unused) */
} hook_t;

static hook_t hooks[NHOOKS];
static event_t events[LOG_SIZE];
static long nevents;            /* may exceed LOG_SIZE: then not all logged */
static int logging;

/* The thread of raw_from_thread(), once it has set it. */
static pthread_t raw_thread;
static volatile int raw_thread_set;

static PyMemAllocatorDomain
hook_domain(int i)
{
    switch (i % NDOMAINS) {
    case 0:
        return PYMEM_DOMAIN_RAW;
    case 1:
        return PYMEM_DOMAIN_MEM;
    default:
        return PYMEM_DOMAIN_OBJ;
    }
}

static event_t *
log_event(hook_t *hook, int kind, size_t size, size_t elsize, void *ptr)
{
    long i;
    event_t *ev;

    ATOMIC_ADD(hook->ncalls[kind], 1);
    if (kind == EV_CALLOC)
        ATOMIC_ADD(hook->nbytes[kind], size * elsize);
    else if (kind != EV_FREE)
        ATOMIC_ADD(hook->nbytes[kind], size);
    if (!logging)
        return NULL;
    i = __sync_fetch_and_add(&nevents, 1);
    if (i >= LOG_SIZE)
        return NULL;
    ev = &events[i];
    ev->hook = (int)(hook - hooks);
    ev->kind = kind;
    ev->size = size;
    ev->elsize = elsize;
    ev->ptr = ptr;
    ev->result = NULL;
    ev->in_thread = raw_thread_set && pthread_equal(pthread_self(),
                                                    raw_thread);
    return ev;
}

static void *
hook_malloc(void *ctx, size_t size)
{
    hook_t *hook = (hook_t *)ctx;
    event_t *ev = log_event(hook, EV_MALLOC, size, 0, NULL);
    void *res;

    if (hook->failing)
        res = NULL;
    else
        res = hook->wrapped.malloc(hook->wrapped.ctx, size);
    if (ev != NULL)
        ev->result = res;
    return res;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    hook_t *hook = (hook_t *)ctx;
    event_t *ev = log_event(hook, EV_CALLOC, nelem, elsize, NULL);
    void *res;

    if (hook->failing)
        res = NULL;
    else
        res = hook->wrapped.calloc(hook->wrapped.ctx, nelem, elsize);
    if (ev != NULL)
        ev->result = res;
    return res;
}

static void *
hook_realloc(void *ctx, void *ptr, size_t size)
{
    hook_t *hook = (hook_t *)ctx;
    event_t *ev = log_event(hook, EV_REALLOC, size, 0, ptr);
    void *res;

    if (hook->failing)
        res = NULL;
    else
        res = hook->wrapped.realloc(hook->wrapped.ctx, ptr, size);
    if (ev != NULL)
        ev->result = res;
    return res;
}

static void
hook_free(void *ctx, void *ptr)
{
    hook_t *hook = (hook_t *)ctx;

    (void)log_event(hook, EV_FREE, 0, 0, ptr);
    hook->wrapped.free(hook->wrapped.ctx, ptr);
}

/* The name of the first field in which a and b differ, NULL if none. */
static const char *
allocator_mismatch(const PyMemAllocatorEx *a, const PyMemAllocatorEx *b)
{
    if (a->ctx != b->ctx)
        return field_names[0];
    if (a->malloc != b->malloc)
        return field_names[1];
    if (a->calloc != b->calloc)
        return field_names[2];
    if (a->realloc != b->realloc)
        return field_names[3];
    if (a->free != b->free)
        return field_names[4];
    return NULL;
}

/* Wrap the domain's allocator.  -1 with an exception if PyMem_GetAllocator
   does not give back what PyMem_SetAllocator installed. */
static int
hook_install(int i, int failing)
{
    hook_t *hook = &hooks[i];
    PyMemAllocatorDomain domain = hook_domain(i);
    PyMemAllocatorEx check;
    const char *field;
    int k;

    if (hook->installed) {
        PyErr_Format(PyExc_ValueError, "hook %s is already installed",
                     hook_names[i]);
        return -1;
    }
    for (k = 0; k < NKINDS; k++) {
        hook->ncalls[k] = 0;
        hook->nbytes[k] = 0;
    }
    hook->failing = failing;
    PyMem_GetAllocator(domain, &hook->wrapped);
    hook->mine.ctx = hook;
    hook->mine.malloc = hook_malloc;
    hook->mine.calloc = hook_calloc;
    hook->mine.realloc = hook_realloc;
    hook->mine.free = hook_free;
    PyMem_SetAllocator(domain, &hook->mine);
    PyMem_GetAllocator(domain, &check);
    field = allocator_mismatch(&check, &hook->mine);
    if (field != NULL) {
        PyMem_SetAllocator(domain, &hook->wrapped);
        PyErr_Format(PyExc_AssertionError,
                     "%s: PyMem_GetAllocator() after PyMem_SetAllocator() "
                     "returns another %s", hook_names[i], field);
        return -1;
    }
    hook->installed = 1;
    return 0;
}

/* Put back what was there.  Returns the name of a field that differs
   (before: the hook was not on top; after: not restored), NULL if fine.
   Never raises: it may run with hooks that fail installed. */
static const char *
hook_uninstall(int i, int *after)
{
    hook_t *hook = &hooks[i];
    PyMemAllocatorDomain domain = hook_domain(i);
    PyMemAllocatorEx check;
    const char *field;

    *after = 0;
    hook->installed = 0;
    hook->failing = 0;
    PyMem_GetAllocator(domain, &check);
    field = allocator_mismatch(&check, &hook->mine);
    PyMem_SetAllocator(domain, &hook->wrapped);
    if (field != NULL)
        return field;
    PyMem_GetAllocator(domain, &check);
    *after = 1;
    return allocator_mismatch(&check, &hook->wrapped);
}

static PyObject *
uninstall_error(int i, const char *field, int after)
{
    if (after)
        PyErr_Format(PyExc_AssertionError,
                     "%s: PyMem_GetAllocator() after restoring the previous "
                     "allocator returns another %s", hook_names[i], field);
    else
        PyErr_Format(PyExc_AssertionError,
                     "%s: the hook was no longer installed (%s differs)",
                     hook_names[i], field);
    return NULL;
}

/* A set of hooks given by name, installed in that order. */
typedef struct {
    int n;
    int index[NHOOKS];
} hookset_t;

static int
hook_index(const char *name)
{
    int i;

    for (i = 0; i < NHOOKS; i++) {
        if (strcmp(name, hook_names[i]) == 0)
            return i;
    }
    PyErr_Format(PyExc_ValueError, "unknown hook %s", name);
    return -1;
}

static int
parse_hookset(PyObject *names, hookset_t *set)
{
    PyObject *seq;
    Py_ssize_t i, n;
    int j, k;

    set->n = 0;
    seq = PySequence_Fast(names, "hooks must be a sequence of names");
    if (seq == NULL)
        return -1;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n > NHOOKS) {
        PyErr_SetString(PyExc_ValueError, "too many hooks");
        goto error;
    }
    for (i = 0; i < n; i++) {
        const char *name = text_of(PySequence_Fast_GET_ITEM(seq, i),
                                   "a hook name");

        if (name == NULL)
            goto error;
        j = hook_index(name);
        if (j < 0)
            goto error;
        for (k = 0; k < set->n; k++) {
            if (set->index[k] == j) {
                PyErr_SetString(PyExc_ValueError, "a hook given twice");
                goto error;
            }
        }
        set->index[set->n++] = j;
    }
    Py_DECREF(seq);
    return 0;

error:
    Py_DECREF(seq);
    return -1;
}

static void
log_start(void)
{
    nevents = 0;
    logging = 1;
}

static long
log_stop(void)
{
    logging = 0;
    return nevents;
}

static int
hookset_install(hookset_t *set, int failing)
{
    int k, after;

    for (k = 0; k < set->n; k++) {
        if (hook_install(set->index[k], failing) < 0) {
            while (--k >= 0)
                (void)hook_uninstall(set->index[k], &after);
            return -1;
        }
    }
    return 0;
}

/* Uninstall in reverse order; -1 with an exception if one of them was not
   restored exactly. */
static int
hookset_uninstall(hookset_t *set)
{
    const char *field, *bad_field = NULL;
    int k, after, bad = -1, bad_after = 0;

    for (k = set->n - 1; k >= 0; k--) {
        field = hook_uninstall(set->index[k], &after);
        if (field != NULL && bad_field == NULL) {
            bad_field = field;
            bad = set->index[k];
            bad_after = after;
        }
    }
    if (bad_field != NULL) {
        (void)uninstall_error(bad, bad_field, bad_after);
        return -1;
    }
    return 0;
}

static PyObject *
ptr_object(const void *p)
{
    if (p == NULL)
        Py_RETURN_NONE;
    return PyLong_FromVoidPtr((void *)p);
}

/* The logged events as a list of tuples:
   (hook, "malloc", size, result), (hook, "calloc", nelem, elsize, result),
   (hook, "realloc", ptr, size, result), (hook, "free", ptr). */
static PyObject *
events_list(long n)
{
    PyObject *list, *item;
    long i;

    if (n > LOG_SIZE) {
        PyErr_Format(PyExc_AssertionError, "%ld events, the log holds %d",
                     n, LOG_SIZE);
        return NULL;
    }
    list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        event_t *ev = &events[i];
        const char *name = hook_names[ev->hook];
        const char *kind = kind_names[ev->kind];

        switch (ev->kind) {
        case EV_MALLOC:
            item = Py_BuildValue("(ssNN)", name, kind,
                                 PyLong_FromSize_t(ev->size),
                                 ptr_object(ev->result));
            break;
        case EV_CALLOC:
            item = Py_BuildValue("(ssNNN)", name, kind,
                                 PyLong_FromSize_t(ev->size),
                                 PyLong_FromSize_t(ev->elsize),
                                 ptr_object(ev->result));
            break;
        case EV_REALLOC:
            item = Py_BuildValue("(ssNNN)", name, kind,
                                 ptr_object(ev->ptr),
                                 PyLong_FromSize_t(ev->size),
                                 ptr_object(ev->result));
            break;
        default:
            item = Py_BuildValue("(ssN)", name, kind, ptr_object(ev->ptr));
            break;
        }
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

/* {hook: {"malloc": calls, ..., "malloc_bytes": bytes, ...}} */
static PyObject *
counts_dict(hookset_t *set)
{
    PyObject *result, *counts, *value = NULL;
    char key[32];
    int k, kind, err;

    result = PyDict_New();
    if (result == NULL)
        return NULL;
    for (k = 0; k < set->n; k++) {
        hook_t *hook = &hooks[set->index[k]];

        counts = PyDict_New();
        if (counts == NULL)
            goto error;
        err = PyDict_SetItemString(result, hook_names[set->index[k]], counts);
        Py_DECREF(counts);
        if (err < 0)
            goto error;
        for (kind = 0; kind < NKINDS; kind++) {
            value = PyInt_FromLong(hook->ncalls[kind]);
            if (value == NULL
                || PyDict_SetItemString(counts, kind_names[kind], value) < 0)
                goto error;
            Py_CLEAR(value);
            if (kind == EV_FREE)
                continue;
            PyOS_snprintf(key, sizeof(key), "%s_bytes", kind_names[kind]);
            value = PyLong_FromSize_t(hook->nbytes[kind]);
            if (value == NULL || PyDict_SetItemString(counts, key, value) < 0)
                goto error;
            Py_CLEAR(value);
        }
    }
    return result;

error:
    Py_XDECREF(value);
    Py_DECREF(result);
    return NULL;
}

/* ---- the public functions of each domain ------------------------------- */

enum { API_RAW, API_MEM, API_MEM_MACRO, API_OBJ, API_OBJ_MACRO, NAPIS };

static const char *const api_names[NAPIS] = {
    "raw", "mem", "mem_macro", "obj", "obj_macro"
};

static int
parse_api(const char *name)
{
    int api;

    for (api = 0; api < NAPIS; api++) {
        if (strcmp(name, api_names[api]) == 0)
            return api;
    }
    PyErr_Format(PyExc_ValueError, "unknown API %s", name);
    return -1;
}

/* The macros have no calloc: the calloc of those APIs is the function. */
static void *
api_malloc(int api, size_t size)
{
    switch (api) {
    case API_RAW:
        return PyMem_RawMalloc(size);
    case API_MEM:
        return PyMem_Malloc(size);
    case API_MEM_MACRO:
        return PyMem_MALLOC(size);
    case API_OBJ:
        return PyObject_Malloc(size);
    default:
        return PyObject_MALLOC(size);
    }
}

static void *
api_calloc(int api, size_t nelem, size_t elsize)
{
    switch (api) {
    case API_RAW:
        return PyMem_RawCalloc(nelem, elsize);
    case API_MEM:
    case API_MEM_MACRO:
        return PyMem_Calloc(nelem, elsize);
    default:
        return PyObject_Calloc(nelem, elsize);
    }
}

static void *
api_realloc(int api, void *ptr, size_t size)
{
    switch (api) {
    case API_RAW:
        return PyMem_RawRealloc(ptr, size);
    case API_MEM:
        return PyMem_Realloc(ptr, size);
    case API_MEM_MACRO:
        return PyMem_REALLOC(ptr, size);
    case API_OBJ:
        return PyObject_Realloc(ptr, size);
    default:
        return PyObject_REALLOC(ptr, size);
    }
}

static void
api_free(int api, void *ptr)
{
    switch (api) {
    case API_RAW:
        PyMem_RawFree(ptr);
        break;
    case API_MEM:
        PyMem_Free(ptr);
        break;
    case API_MEM_MACRO:
        PyMem_FREE(ptr);
        break;
    case API_OBJ:
        PyObject_Free(ptr);
        break;
    default:
        PyObject_FREE(ptr);
        break;
    }
}

static int
all_bytes(const void *p, size_t n, unsigned char value)
{
    const unsigned char *q = (const unsigned char *)p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (q[i] != value)
            return 0;
    }
    return 1;
}

/* A size_t from a Python int or long; negative or too big: OverflowError. */
static int
parse_size(PyObject *obj, size_t *size)
{
    PyObject *num;
    unsigned PY_LONG_LONG value;

    if (!PyInt_Check(obj) && !PyLong_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "a size must be an int");
        return -1;
    }
    num = PyNumber_Long(obj);
    if (num == NULL)
        return -1;
    value = PyLong_AsUnsignedLongLong(num);
    Py_DECREF(num);
    if (value == (unsigned PY_LONG_LONG)-1 && PyErr_Occurred())
        return -1;
    *size = (size_t)value;
    if ((unsigned PY_LONG_LONG)*size != value) {
        PyErr_SetString(PyExc_OverflowError, "size does not fit in size_t");
        return -1;
    }
    return 0;
}

/* ---- run_ops(api, ops, hooks): a sequence of calls with hooks installed */

#define MAX_OPS 64

typedef struct {
    int kind;           /* EV_* */
    size_t a, b;        /* malloc, realloc: size; calloc: nelem, elsize */
    int slot;           /* realloc, free: the op whose block, -1 for NULL */
} op_t;

enum {
    PROBLEM_NONE,
    PROBLEM_NOT_ZEROED,         /* calloc gave a block not filled with 0 */
    PROBLEM_CONTENT_LOST,       /* realloc did not keep the contents */
    PROBLEM_NOT_LIVE            /* an op refers to a released block */
};

static const char *const problem_names[] = {
    NULL, "calloc block not zeroed", "realloc lost the contents",
    "the block was already released"
};

static unsigned char
op_pattern(int i)
{
    return (unsigned char)(i * 37 + 1);
}

static int
parse_ops(PyObject *list, op_t *ops, int *nops)
{
    PyObject *seq;
    Py_ssize_t i, n;

    seq = PySequence_Fast(list, "ops must be a sequence");
    if (seq == NULL)
        return -1;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n > MAX_OPS) {
        PyErr_SetString(PyExc_ValueError, "too many ops");
        goto error;
    }
    for (i = 0; i < n; i++) {
        PyObject *op = PySequence_Fast_GET_ITEM(seq, i);
        const char *name;
        Py_ssize_t len;
        long slot;

        if (!PyTuple_Check(op) || PyTuple_GET_SIZE(op) < 2) {
            PyErr_SetString(PyExc_TypeError, "an op is a tuple (name, ...)");
            goto error;
        }
        name = text_of(PyTuple_GET_ITEM(op, 0), "an op's name");
        if (name == NULL)
            goto error;
        len = PyTuple_GET_SIZE(op);
        ops[i].a = ops[i].b = 0;
        ops[i].slot = -1;
        if (strcmp(name, "malloc") == 0 && len == 2) {
            ops[i].kind = EV_MALLOC;
            if (parse_size(PyTuple_GET_ITEM(op, 1), &ops[i].a) < 0)
                goto error;
            continue;
        }
        if (strcmp(name, "calloc") == 0 && len == 3) {
            ops[i].kind = EV_CALLOC;
            if (parse_size(PyTuple_GET_ITEM(op, 1), &ops[i].a) < 0
                || parse_size(PyTuple_GET_ITEM(op, 2), &ops[i].b) < 0)
                goto error;
            continue;
        }
        if (strcmp(name, "realloc") == 0 && len == 3) {
            ops[i].kind = EV_REALLOC;
            if (parse_size(PyTuple_GET_ITEM(op, 2), &ops[i].a) < 0)
                goto error;
        }
        else if (strcmp(name, "free") == 0 && len == 2) {
            ops[i].kind = EV_FREE;
        }
        else {
            PyErr_Format(PyExc_ValueError, "bad op %s", name);
            goto error;
        }
        /* the slot: None (NULL) or the index of an earlier op */
        if (PyTuple_GET_ITEM(op, 1) != Py_None) {
            slot = PyInt_AsLong(PyTuple_GET_ITEM(op, 1));
            if (slot == -1 && PyErr_Occurred())
                goto error;
            if (slot < 0 || slot >= i) {
                PyErr_SetString(PyExc_ValueError,
                                "a slot must be an earlier op");
                goto error;
            }
            ops[i].slot = (int)slot;
        }
    }
    *nops = (int)n;
    Py_DECREF(seq);
    return 0;

error:
    Py_DECREF(seq);
    return -1;
}

static PyObject *
run_ops(PyObject *self, PyObject *args)
{
    const char *api_name;
    PyObject *ops_arg, *hooks_arg = NULL;
    op_t ops[MAX_OPS];
    void *blocks[MAX_OPS];
    size_t sizes[MAX_OPS];
    int live[MAX_OPS];
    int problems[MAX_OPS];
    hookset_t set;
    int api, nops, i, s;
    long n;
    PyObject *results = NULL, *problem_list = NULL, *event_list = NULL;
    PyObject *counts = NULL;

    (void)self;
    if (!PyArg_ParseTuple(args, "sO|O:run_ops", &api_name, &ops_arg,
                          &hooks_arg))
        return NULL;
    api = parse_api(api_name);
    if (api < 0 || parse_ops(ops_arg, ops, &nops) < 0)
        return NULL;
    if (hooks_arg != NULL) {
        if (parse_hookset(hooks_arg, &set) < 0)
            return NULL;
    }
    else {
        set.n = 1;
        set.index[0] = api == API_RAW ? 0 : api <= API_MEM_MACRO ? 1 : 2;
    }

    /* From here to log_stop(), only the calls under test allocate. */
    if (hookset_install(&set, 0) < 0)
        return NULL;
    log_start();
    for (i = 0; i < nops; i++) {
        op_t *op = &ops[i];
        void *ptr = NULL, *res;

        blocks[i] = NULL;
        sizes[i] = 0;
        live[i] = 0;
        problems[i] = PROBLEM_NONE;
        s = op->slot;
        if (s >= 0) {
            if (!live[s]) {
                problems[i] = PROBLEM_NOT_LIVE;
                continue;
            }
            ptr = blocks[s];
        }
        switch (op->kind) {
        case EV_MALLOC:
            res = api_malloc(api, op->a);
            break;
        case EV_CALLOC:
            res = api_calloc(api, op->a, op->b);
            if (res != NULL && !all_bytes(res, op->a * op->b, 0))
                problems[i] = PROBLEM_NOT_ZEROED;
            break;
        case EV_REALLOC:
            res = api_realloc(api, ptr, op->a);
            if (res != NULL && s >= 0) {
                size_t keep = sizes[s] < op->a ? sizes[s] : op->a;

                if (!all_bytes(res, keep, op_pattern(s)))
                    problems[i] = PROBLEM_CONTENT_LOST;
                live[s] = 0;
            }
            break;
        default:
            api_free(api, ptr);
            if (s >= 0)
                live[s] = 0;
            continue;
        }
        if (res != NULL) {
            blocks[i] = res;
            live[i] = 1;
            sizes[i] = op->kind == EV_CALLOC ? op->a * op->b : op->a;
            memset(res, op_pattern(i), sizes[i]);
        }
    }
    n = log_stop();
    if (hookset_uninstall(&set) < 0)
        goto done;

    results = PyList_New(nops);
    problem_list = PyList_New(0);
    if (results == NULL || problem_list == NULL)
        goto done;
    for (i = 0; i < nops; i++) {
        PyObject *item;

        if (ops[i].kind == EV_FREE) {
            Py_INCREF(Py_None);
            item = Py_None;
        }
        else {
            item = ptr_object(blocks[i]);
            if (item == NULL)
                goto done;
        }
        PyList_SET_ITEM(results, i, item);
        if (problems[i] != PROBLEM_NONE) {
            item = PyString_FromFormat("op %d: %s", i,
                                       problem_names[problems[i]]);
            if (item == NULL || PyList_Append(problem_list, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
        }
    }
    event_list = events_list(n);
    if (event_list == NULL)
        goto done;
    counts = counts_dict(&set);

done:
    /* what the ops did not release, by the same API (with no hook) */
    for (i = 0; i < nops; i++) {
        if (live[i])
            api_free(api, blocks[i]);
    }
    if (counts == NULL) {
        Py_XDECREF(results);
        Py_XDECREF(problem_list);
        Py_XDECREF(event_list);
        return NULL;
    }
    return Py_BuildValue("{sNsNsNsN}", "results", results,
                         "events", event_list, "problems", problem_list,
                         "counts", counts);
}

/* ---- the interpreter's own allocations reach the hooks ------------------ */

static PyObject *
interp_op(PyObject *self, PyObject *args)
{
    const char *what;
    PyObject *hooks_arg, *obj, *event_list, *counts;
    hookset_t set;
    size_t expected;
    long n;

    (void)self;
    if (!PyArg_ParseTuple(args, "sO:interp_op", &what, &hooks_arg))
        return NULL;
    if (parse_hookset(hooks_arg, &set) < 0)
        return NULL;
    if (strcmp(what, "string") == 0)
        /* one block: the header and 100 chars and the final NUL */
        expected = offsetof(PyStringObject, ob_sval) + 1 + 100;
    else if (strcmp(what, "list") == 0)
        /* the array of 10 items */
        expected = 10 * sizeof(PyObject *);
    else {
        PyErr_Format(PyExc_ValueError, "unknown op %s", what);
        return NULL;
    }

    if (hookset_install(&set, 0) < 0)
        return NULL;
    log_start();
    if (what[0] == 's')
        obj = PyString_FromStringAndSize(NULL, 100);
    else
        obj = PyList_New(10);
    Py_XDECREF(obj);
    n = log_stop();
    if (hookset_uninstall(&set) < 0)
        return NULL;
    if (obj == NULL)
        return NULL;
    event_list = events_list(n);
    if (event_list == NULL)
        return NULL;
    counts = counts_dict(&set);
    if (counts == NULL) {
        Py_DECREF(event_list);
        return NULL;
    }
    return Py_BuildValue("{sNsNsN}", "events", event_list,
                         "counts", counts,
                         "size", PyLong_FromSize_t(expected));
}

/* ---- hooks that fail: MemoryError, not a crash -------------------------- */

static long failed_calls;

static void
fail_start(hookset_t *set)
{
    set->n = 2;
    set->index[0] = 1;      /* mem */
    set->index[1] = 2;      /* obj */
}

static void
fail_count(void)
{
    failed_calls = hooks[1].ncalls[EV_MALLOC] + hooks[1].ncalls[EV_CALLOC]
                   + hooks[1].ncalls[EV_REALLOC]
                   + hooks[2].ncalls[EV_MALLOC] + hooks[2].ncalls[EV_CALLOC]
                   + hooks[2].ncalls[EV_REALLOC];
}

/* Create an object of `kind` with `size` items while every allocation of
   the MEM and OBJ domains fails.  Returns what the constructor returned. */
static PyObject *
fail_during(PyObject *self, PyObject *args)
{
    const char *kind;
    Py_ssize_t size;
    hookset_t set;
    PyObject *obj = NULL;
    PyObject *type, *value, *tb;

    (void)self;
    if (!PyArg_ParseTuple(args, "sn:fail_during", &kind, &size))
        return NULL;
    if (strcmp(kind, "list") != 0 && strcmp(kind, "string") != 0
        && strcmp(kind, "unicode") != 0 && strcmp(kind, "tuple") != 0
        && strcmp(kind, "bytearray") != 0) {
        PyErr_Format(PyExc_ValueError, "unknown kind %s", kind);
        return NULL;
    }
    failed_calls = 0;
    fail_start(&set);
    if (hookset_install(&set, 1) < 0)
        return NULL;
    if (strcmp(kind, "list") == 0)
        obj = PyList_New(size);
    else if (strcmp(kind, "string") == 0)
        obj = PyString_FromStringAndSize(NULL, size);
    else if (strcmp(kind, "unicode") == 0)
        obj = PyUnicode_FromUnicode(NULL, size);
    else if (strcmp(kind, "tuple") == 0)
        obj = PyTuple_New(size);
    else
        obj = PyByteArray_FromStringAndSize(NULL, size);
    fail_count();
    PyErr_Fetch(&type, &value, &tb);
    if (hookset_uninstall(&set) < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        Py_XDECREF(obj);
        return NULL;
    }
    PyErr_Restore(type, value, tb);
    return obj;
}

/* Call func() while every allocation of MEM and OBJ fails. */
static PyObject *
fail_call(PyObject *self, PyObject *func)
{
    hookset_t set;
    PyObject *obj;
    PyObject *type, *value, *tb;

    (void)self;
    failed_calls = 0;
    fail_start(&set);
    if (hookset_install(&set, 1) < 0)
        return NULL;
    obj = PyObject_CallObject(func, NULL);
    fail_count();
    PyErr_Fetch(&type, &value, &tb);
    if (hookset_uninstall(&set) < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        Py_XDECREF(obj);
        return NULL;
    }
    PyErr_Restore(type, value, tb);
    return obj;
}

static PyObject *
get_failed_calls(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyInt_FromLong(failed_calls);
}

/* ---- get/set round trips ----------------------------------------------- */

static int
parse_domain(PyObject *args, PyMemAllocatorDomain *domain)
{
    int value;

    if (!PyArg_ParseTuple(args, "i", &value))
        return -1;
    *domain = (PyMemAllocatorDomain)value;
    return 0;
}

static PyObject *
funcptr_object(const void *fp, size_t size)
{
    Py_uintptr_t value = 0;

    memcpy(&value, fp, size < sizeof(value) ? size : sizeof(value));
    if (value == 0)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong((unsigned PY_LONG_LONG)value);
}

#define FUNCPTR_OBJECT(f) funcptr_object(&(f), sizeof(f))

/* get_allocator(domain): (ctx, malloc, calloc, realloc, free) as numbers,
   None for NULL; any int is passed on as the domain. */
static PyObject *
get_allocator(PyObject *self, PyObject *args)
{
    PyMemAllocatorDomain domain;
    PyMemAllocatorEx alloc;

    (void)self;
    if (parse_domain(args, &domain) < 0)
        return NULL;
    memset(&alloc, 0x5a, sizeof(alloc));
    PyMem_GetAllocator(domain, &alloc);
    return Py_BuildValue("(NNNNN)", ptr_object(alloc.ctx),
                         FUNCPTR_OBJECT(alloc.malloc),
                         FUNCPTR_OBJECT(alloc.calloc),
                         FUNCPTR_OBJECT(alloc.realloc),
                         FUNCPTR_OBJECT(alloc.free));
}

/* PyMem_SetAllocator() on the given (unknown) domain, with a hook's
   functions; returns the allocators of RAW, MEM and OBJ afterwards. */
static PyObject *
set_allocator_unknown(PyObject *self, PyObject *args)
{
    PyMemAllocatorDomain domain;
    PyMemAllocatorEx alloc, before[NDOMAINS], after;
    int i;

    (void)self;
    if (parse_domain(args, &domain) < 0)
        return NULL;
    if (domain == PYMEM_DOMAIN_RAW || domain == PYMEM_DOMAIN_MEM
        || domain == PYMEM_DOMAIN_OBJ) {
        PyErr_SetString(PyExc_ValueError, "a known domain");
        return NULL;
    }
    for (i = 0; i < NDOMAINS; i++)
        PyMem_GetAllocator(hook_domain(i), &before[i]);
    alloc.ctx = &hooks[0];
    alloc.malloc = hook_malloc;
    alloc.calloc = hook_calloc;
    alloc.realloc = hook_realloc;
    alloc.free = hook_free;
    PyMem_SetAllocator(domain, &alloc);
    for (i = 0; i < NDOMAINS; i++) {
        const char *field;

        PyMem_GetAllocator(hook_domain(i), &after);
        field = allocator_mismatch(&before[i], &after);
        if (field != NULL) {
            /* put it back before anything else allocates */
            PyMem_SetAllocator(hook_domain(i), &before[i]);
            PyErr_Format(PyExc_AssertionError,
                         "PyMem_SetAllocator(%d) changed the %s of %s",
                         (int)domain, field, hook_names[i]);
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* Install and uninstall a hook on a domain, checking each field. */
static PyObject *
hook_roundtrip(PyObject *self, PyObject *args)
{
    PyMemAllocatorDomain domain;
    PyMemAllocatorEx previous, check;
    const char *field;
    int i, after, complete;

    (void)self;
    if (parse_domain(args, &domain) < 0)
        return NULL;
    for (i = 0; i < NDOMAINS; i++) {
        if (hook_domain(i) == domain)
            break;
    }
    if (i == NDOMAINS) {
        PyErr_SetString(PyExc_ValueError, "unknown domain");
        return NULL;
    }
    PyMem_GetAllocator(domain, &previous);
    complete = previous.malloc != NULL && previous.calloc != NULL
               && previous.realloc != NULL && previous.free != NULL;
    if (hook_install(i, 0) < 0)
        return NULL;
    field = hook_uninstall(i, &after);
    if (field != NULL)
        return uninstall_error(i, field, after);
    PyMem_GetAllocator(domain, &check);
    field = allocator_mismatch(&check, &previous);
    if (field != NULL)
        return uninstall_error(i, field, 1);
    return PyBool_FromLong(complete);
}

/* ---- the arena allocator ----------------------------------------------- */

#define MAX_ARENAS 4096

static struct {
    PyObjectArenaAllocator wrapped;
    PyObjectArenaAllocator mine;
    long nalloc, nfree, nforeign;
    size_t min_size, max_size;
    void *addrs[MAX_ARENAS];    /* arenas allocated through the hook */
} arena_hook;

static void
arena_size_seen(size_t size)
{
    if (arena_hook.min_size == 0 || size < arena_hook.min_size)
        arena_hook.min_size = size;
    if (size > arena_hook.max_size)
        arena_hook.max_size = size;
}

static void *
arena_hook_alloc(void *ctx, size_t size)
{
    void *ptr;
    int i;

    (void)ctx;
    arena_hook.nalloc++;
    arena_size_seen(size);
    ptr = arena_hook.wrapped.alloc(arena_hook.wrapped.ctx, size);
    if (ptr != NULL) {
        for (i = 0; i < MAX_ARENAS; i++) {
            if (arena_hook.addrs[i] == NULL) {
                arena_hook.addrs[i] = ptr;
                break;
            }
        }
    }
    return ptr;
}

static void
arena_hook_free(void *ctx, void *ptr, size_t size)
{
    int i;

    (void)ctx;
    arena_hook.nfree++;
    arena_size_seen(size);
    for (i = 0; i < MAX_ARENAS; i++) {
        if (arena_hook.addrs[i] == ptr)
            break;
    }
    if (i < MAX_ARENAS)
        arena_hook.addrs[i] = NULL;
    else
        arena_hook.nforeign++;
    arena_hook.wrapped.free(arena_hook.wrapped.ctx, ptr, size);
}

static const char *
arena_mismatch(const PyObjectArenaAllocator *a,
               const PyObjectArenaAllocator *b)
{
    if (a->ctx != b->ctx)
        return "ctx";
    if (a->alloc != b->alloc)
        return "alloc";
    if (a->free != b->free)
        return "free";
    return NULL;
}

/* arena_test(nblocks, blocksize): PyObject_Malloc() nblocks blocks, then
   PyObject_Free() them, with a counting arena allocator installed. */
static PyObject *
arena_test(PyObject *self, PyObject *args)
{
    Py_ssize_t nblocks, blocksize, i, allocated = 0;
    void **blocks;
    PyObjectArenaAllocator check;
    const char *field;
    long nalloc, nfree_while_allocating;

    (void)self;
    if (!PyArg_ParseTuple(args, "nn:arena_test", &nblocks, &blocksize))
        return NULL;
    if (nblocks <= 0 || blocksize <= 0
        || (size_t)nblocks > PY_SSIZE_T_MAX / sizeof(void *)) {
        PyErr_SetString(PyExc_ValueError, "bad sizes");
        return NULL;
    }
    /* libc's malloc: outside every domain */
    blocks = (void **)malloc((size_t)nblocks * sizeof(void *));
    if (blocks == NULL)
        return PyErr_NoMemory();

    memset(&arena_hook, 0, sizeof(arena_hook));
    PyObject_GetArenaAllocator(&arena_hook.wrapped);
    if (arena_hook.wrapped.alloc == NULL || arena_hook.wrapped.free == NULL) {
        free(blocks);
        PyErr_SetString(PyExc_AssertionError,
                        "PyObject_GetArenaAllocator(): no functions");
        return NULL;
    }
    arena_hook.mine.ctx = &arena_hook;
    arena_hook.mine.alloc = arena_hook_alloc;
    arena_hook.mine.free = arena_hook_free;
    PyObject_SetArenaAllocator(&arena_hook.mine);
    PyObject_GetArenaAllocator(&check);
    field = arena_mismatch(&check, &arena_hook.mine);
    if (field != NULL) {
        PyObject_SetArenaAllocator(&arena_hook.wrapped);
        free(blocks);
        PyErr_Format(PyExc_AssertionError, "PyObject_GetArenaAllocator() "
                     "after PyObject_SetArenaAllocator() returns another %s",
                     field);
        return NULL;
    }

    for (i = 0; i < nblocks; i++) {
        blocks[i] = PyObject_Malloc((size_t)blocksize);
        if (blocks[i] == NULL)
            break;
        memset(blocks[i], 0x42, (size_t)blocksize);
        allocated++;
    }
    nalloc = arena_hook.nalloc;
    nfree_while_allocating = arena_hook.nfree;
    for (i = 0; i < allocated; i++)
        PyObject_Free(blocks[i]);

    PyObject_GetArenaAllocator(&check);
    field = arena_mismatch(&check, &arena_hook.mine);
    PyObject_SetArenaAllocator(&arena_hook.wrapped);
    free(blocks);
    if (field != NULL) {
        PyErr_Format(PyExc_AssertionError,
                     "the arena allocator changed under the test (%s)", field);
        return NULL;
    }
    PyObject_GetArenaAllocator(&check);
    field = arena_mismatch(&check, &arena_hook.wrapped);
    if (field != NULL) {
        PyErr_Format(PyExc_AssertionError, "PyObject_GetArenaAllocator() "
                     "after restoring it returns another %s", field);
        return NULL;
    }
    if (allocated < nblocks)
        return PyErr_NoMemory();
    return Py_BuildValue("{slslslslsnsn}",
                         "alloc", nalloc,
                         "free_while_allocating", nfree_while_allocating,
                         "free", arena_hook.nfree - nfree_while_allocating,
                         "foreign_free", arena_hook.nforeign,
                         "min_size", (Py_ssize_t)arena_hook.min_size,
                         "max_size", (Py_ssize_t)arena_hook.max_size);
}

static PyObject *
get_arena_allocator(PyObject *self, PyObject *unused)
{
    PyObjectArenaAllocator alloc;

    (void)self;
    (void)unused;
    PyObject_GetArenaAllocator(&alloc);
    return Py_BuildValue("(NNN)", ptr_object(alloc.ctx),
                         FUNCPTR_OBJECT(alloc.alloc),
                         FUNCPTR_OBJECT(alloc.free));
}

/* ---- the RAW domain from a thread that has no thread state ------------- */

typedef struct {
    int no_tstate;          /* PyGILState_GetThisThreadState() was NULL */
    int zeroed;             /* the calloc block was zeroed */
    void *ptrs[4];          /* malloc(100), calloc(3, 7), malloc(0),
                               realloc(first, 300) */
} thread_result_t;

static void *
raw_thread_main(void *arg)
{
    thread_result_t *r = (thread_result_t *)arg;
    void *p, *q, *z, *p2;

    /* without the GIL: only what may be called so */
    r->no_tstate = PyGILState_GetThisThreadState() == NULL;
    raw_thread = pthread_self();
    __sync_synchronize();
    raw_thread_set = 1;
    __sync_synchronize();

    p = PyMem_RawMalloc(100);
    q = PyMem_RawCalloc(3, 7);
    z = PyMem_RawMalloc(0);
    r->zeroed = q != NULL && all_bytes(q, 21, 0);
    if (p != NULL)
        memset(p, 0x11, 100);
    p2 = PyMem_RawRealloc(p, 300);
    if (p2 == NULL)
        p2 = p;
    PyMem_RawFree(p2);
    PyMem_RawFree(q);
    PyMem_RawFree(z);
    r->ptrs[0] = p;
    r->ptrs[1] = q;
    r->ptrs[2] = z;
    r->ptrs[3] = p2;

    __sync_synchronize();
    raw_thread_set = 0;
    __sync_synchronize();
    return NULL;
}

/* The main thread keeps the GIL while it waits: the thread cannot take it,
   and would hang if the RAW domain needed it. */
static PyObject *
raw_from_thread(PyObject *self, PyObject *unused)
{
    hookset_t set;
    pthread_t thread;
    thread_result_t r;
    int err, i;
    long n;
    PyObject *event_list, *in_thread, *ptrs;

    (void)self;
    (void)unused;
    memset(&r, 0, sizeof(r));
    set.n = 1;
    set.index[0] = 0;       /* raw */
    if (hookset_install(&set, 0) < 0)
        return NULL;
    log_start();
    err = pthread_create(&thread, NULL, raw_thread_main, &r);
    if (err == 0)
        err = pthread_join(thread, NULL);
    n = log_stop();
    if (hookset_uninstall(&set) < 0)
        return NULL;
    if (err != 0) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    event_list = events_list(n);
    if (event_list == NULL)
        return NULL;
    in_thread = PyList_New(n);
    if (in_thread == NULL) {
        Py_DECREF(event_list);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        PyObject *flag = events[i].in_thread ? Py_True : Py_False;

        Py_INCREF(flag);
        PyList_SET_ITEM(in_thread, i, flag);
    }
    ptrs = Py_BuildValue("(NNNN)", ptr_object(r.ptrs[0]),
                         ptr_object(r.ptrs[1]), ptr_object(r.ptrs[2]),
                         ptr_object(r.ptrs[3]));
    return Py_BuildValue("{sNsNsNsNsN}", "events", event_list,
                         "in_thread", in_thread, "ptrs", ptrs,
                         "no_tstate", PyBool_FromLong(r.no_tstate),
                         "zeroed", PyBool_FromLong(r.zeroed));
}

/* ---- the free-list reuse hook ------------------------------------------ */

#define MAX_REUSED 4096

static PyTypeObject *reused_type[MAX_REUSED];
static void *reused_addr[MAX_REUSED];
static Py_ssize_t reused_refcnt[MAX_REUSED];
static Py_ssize_t nreused;

/* Only looks at the object: some free lists call the hook before they
   fill it in.  Returns it, as the interpreter expects. */
static PyObject *
record_reuse(PyObject *op)
{
    if (nreused < MAX_REUSED) {
        reused_type[nreused] = Py_TYPE(op);
        reused_addr[nreused] = op;
        reused_refcnt[nreused] = Py_REFCNT(op);
    }
    nreused++;
    return op;
}

static PyObject *
reuse_hook_install(PyObject *self, PyObject *unused)
{
    _PyObject_ReuseHookFunc previous;

    (void)self;
    (void)unused;
    nreused = 0;
    previous = _PyObject_SetReuseHook(record_reuse);
    if (previous != NULL) {
        (void)_PyObject_SetReuseHook(previous);
        PyErr_SetString(PyExc_AssertionError,
                        "a reuse hook is already installed");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Uninstall the hook; returns [(type, address, refcnt)] of what it saw. */
static PyObject *
reuse_hook_uninstall(PyObject *self, PyObject *unused)
{
    PyObject *list;
    Py_ssize_t i, n;
    _PyObject_ReuseHookFunc previous;

    (void)self;
    (void)unused;
    previous = _PyObject_SetReuseHook(NULL);
    if (previous != record_reuse) {
        (void)_PyObject_SetReuseHook(previous);
        PyErr_SetString(PyExc_AssertionError,
                        "the installed reuse hook is not ours");
        return NULL;
    }
    n = nreused;
    if (n > MAX_REUSED) {
        PyErr_Format(PyExc_AssertionError, "%zd objects reused, recorded %d",
                     n, MAX_REUSED);
        return NULL;
    }
    list = PyList_New(n);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *item = Py_BuildValue("(ONn)", (PyObject *)reused_type[i],
                                       ptr_object(reused_addr[i]),
                                       reused_refcnt[i]);

        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* Whether no reuse hook is installed (it is put back as found). */
static PyObject *
reuse_hook_is_null(PyObject *self, PyObject *unused)
{
    _PyObject_ReuseHookFunc hook;

    (void)self;
    (void)unused;
    hook = _PyObject_SetReuseHook(NULL);
    (void)_PyObject_SetReuseHook(hook);
    return PyBool_FromLong(hook == NULL);
}

static PyObject *
reuse_count(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyInt_FromSsize_t(nreused);
}

/* ---- misuses for the debug hooks (PYTHONMALLOC=debug) ------------------- */

static int
parse_api_arg(PyObject *args, const char *format, int *api1, int *api2)
{
    const char *name1, *name2 = NULL;

    if (!PyArg_ParseTuple(args, format, &name1, &name2))
        return -1;
    *api1 = parse_api(name1);
    if (*api1 < 0)
        return -1;
    if (api2 != NULL) {
        *api2 = parse_api(name2);
        if (*api2 < 0)
            return -1;
    }
    return 0;
}

/* overrun(api): write one byte past the end of a 16-byte block, free it. */
static PyObject *
overrun(PyObject *self, PyObject *args)
{
    volatile size_t n = 16;
    unsigned char *p;
    int api;

    (void)self;
    if (parse_api_arg(args, "s:overrun", &api, NULL) < 0)
        return NULL;
    p = (unsigned char *)api_malloc(api, n);
    if (p == NULL)
        return PyErr_NoMemory();
    memset(p, 'x', n);
    p[n] = 'y';
    api_free(api, p);
    Py_RETURN_NONE;
}

/* underrun(api): write the byte before a 16-byte block, free it. */
static PyObject *
underrun(PyObject *self, PyObject *args)
{
    volatile size_t n = 16;
    unsigned char *p;
    int api;

    (void)self;
    if (parse_api_arg(args, "s:underrun", &api, NULL) < 0)
        return NULL;
    p = (unsigned char *)api_malloc(api, n);
    if (p == NULL)
        return PyErr_NoMemory();
    memset(p, 'x', n);
    p[-1] = 'y';
    api_free(api, p);
    Py_RETURN_NONE;
}

/* mismatch(alloc_api, free_api): allocate with one, release with other. */
static PyObject *
mismatch(PyObject *self, PyObject *args)
{
    void *p;
    int api1, api2;

    (void)self;
    if (parse_api_arg(args, "ss:mismatch", &api1, &api2) < 0)
        return NULL;
    p = api_malloc(api1, 16);
    if (p == NULL)
        return PyErr_NoMemory();
    memset(p, 'x', 16);
    api_free(api2, p);
    Py_RETURN_NONE;
}

/* fresh_bytes(api, n): the contents of a new block of n bytes. */
static PyObject *
fresh_bytes(PyObject *self, PyObject *args)
{
    const char *name;
    Py_ssize_t n;
    int api;
    void *p;
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTuple(args, "sn:fresh_bytes", &name, &n))
        return NULL;
    api = parse_api(name);
    if (api < 0)
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size");
        return NULL;
    }
    p = api_malloc(api, (size_t)n);
    if (p == NULL)
        return PyErr_NoMemory();
    result = PyString_FromStringAndSize((const char *)p, n);
    api_free(api, p);
    return result;
}

/* Correct use of every API: each block released by its own family, every
   byte written inside the block. */
static PyObject *
correct_usage(PyObject *self, PyObject *unused)
{
    int api;
    unsigned char *p, *q, *z;

    (void)self;
    (void)unused;
    for (api = 0; api < NAPIS; api++) {
        p = (unsigned char *)api_malloc(api, 100);
        q = (unsigned char *)api_calloc(api, 10, 20);
        z = (unsigned char *)api_malloc(api, 0);
        if (p == NULL || q == NULL || z == NULL) {
            api_free(api, p);
            api_free(api, q);
            api_free(api, z);
            return PyErr_NoMemory();
        }
        memset(p, 1, 100);
        if (!all_bytes(q, 200, 0)) {
            api_free(api, p);
            api_free(api, q);
            api_free(api, z);
            PyErr_Format(PyExc_AssertionError, "%s: calloc not zeroed",
                         api_names[api]);
            return NULL;
        }
        q[199] = 2;
        p = (unsigned char *)api_realloc(api, p, 1000);
        if (p != NULL) {
            p[999] = 3;
            p = (unsigned char *)api_realloc(api, p, 10);
        }
        api_free(api, p);
        api_free(api, q);
        api_free(api, z);
        if (p == NULL)
            return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

static PyObject *
setup_debug_hooks(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyMem_SetupDebugHooks();
    Py_RETURN_NONE;
}

/* ---- the module --------------------------------------------------------- */

static PyMethodDef testpep445_methods[] = {
    {"run_ops", run_ops, METH_VARARGS,
     "run_ops(api, ops[, hooks]) -> dict: results, events, problems, counts"},
    {"interp_op", interp_op, METH_VARARGS,
     "interp_op('string'|'list', hooks) -> dict: events, counts, size"},
    {"fail_during", fail_during, METH_VARARGS,
     "fail_during(kind, size): create an object while MEM and OBJ fail"},
    {"fail_call", fail_call, METH_O,
     "fail_call(func): call func() while MEM and OBJ fail"},
    {"failed_calls", get_failed_calls, METH_NOARGS,
     "allocations refused during the last fail_during() or fail_call()"},
    {"get_allocator", get_allocator, METH_VARARGS,
     "get_allocator(domain) -> (ctx, malloc, calloc, realloc, free)"},
    {"set_allocator_unknown", set_allocator_unknown, METH_VARARGS,
     "set_allocator_unknown(domain): set an unknown domain's allocator"},
    {"hook_roundtrip", hook_roundtrip, METH_VARARGS,
     "hook_roundtrip(domain) -> the previous allocator had 4 functions"},
    {"arena_test", arena_test, METH_VARARGS,
     "arena_test(nblocks, blocksize) -> dict of arena allocator calls"},
    {"get_arena_allocator", get_arena_allocator, METH_NOARGS,
     "get_arena_allocator() -> (ctx, alloc, free)"},
    {"raw_from_thread", raw_from_thread, METH_NOARGS,
     "raw_from_thread() -> dict: RAW calls from a thread without the GIL"},
    {"reuse_hook_install", reuse_hook_install, METH_NOARGS,
     "install a reuse hook that records what it sees"},
    {"reuse_hook_uninstall", reuse_hook_uninstall, METH_NOARGS,
     "uninstall it -> [(type, address, refcnt)]"},
    {"reuse_hook_is_null", reuse_hook_is_null, METH_NOARGS,
     "no reuse hook is installed"},
    {"reuse_count", reuse_count, METH_NOARGS,
     "how many objects the recording hook saw"},
    {"overrun", overrun, METH_VARARGS,
     "overrun(api): write one byte past the end of a block"},
    {"underrun", underrun, METH_VARARGS,
     "underrun(api): write one byte before the start of a block"},
    {"mismatch", mismatch, METH_VARARGS,
     "mismatch(alloc_api, free_api): release with the wrong API"},
    {"fresh_bytes", fresh_bytes, METH_VARARGS,
     "fresh_bytes(api, n) -> the contents of a new block"},
    {"correct_usage", correct_usage, METH_NOARGS,
     "use every API correctly"},
    {"setup_debug_hooks", setup_debug_hooks, METH_NOARGS,
     "PyMem_SetupDebugHooks()"},
    {NULL, NULL, 0, NULL}
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef testpep445_module = {
    PyModuleDef_HEAD_INIT, "_testpep445", "Tests of the PEP 445 backport.",
    -1, testpep445_methods, NULL, NULL, NULL, NULL
};
#  define INIT_RETURN(m) return (m)
#  define INIT_FAIL(m) do { Py_DECREF(m); return NULL; } while (0)

PyMODINIT_FUNC
PyInit__testpep445(void)
{
    PyObject *m = PyModule_Create(&testpep445_module);
#else
#  define INIT_RETURN(m) return
#  define INIT_FAIL(m) return      /* m is borrowed */

PyMODINIT_FUNC
init_testpep445(void)
{
    PyObject *m = Py_InitModule3("_testpep445", testpep445_methods,
                                 "Tests of the PEP 445 backport.");
#endif

    if (m == NULL)
        INIT_RETURN(NULL);
    if (PyModule_AddIntConstant(m, "PYMEM_DOMAIN_RAW", PYMEM_DOMAIN_RAW) < 0
        || PyModule_AddIntConstant(m, "PYMEM_DOMAIN_MEM",
                                   PYMEM_DOMAIN_MEM) < 0
        || PyModule_AddIntConstant(m, "PYMEM_DOMAIN_OBJ",
                                   PYMEM_DOMAIN_OBJ) < 0
        || PyModule_AddObject(m, "PY_SSIZE_T_MAX",
                              PyInt_FromSsize_t(PY_SSIZE_T_MAX)) < 0
        || PyModule_AddObject(m, "SIZE_MAX",
                              PyLong_FromSize_t((size_t)-1)) < 0
        || PyModule_AddIntConstant(m, "SIZEOF_VOID_P", SIZEOF_VOID_P) < 0)
        INIT_FAIL(m);
    INIT_RETURN(m);
}
