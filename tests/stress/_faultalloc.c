/* _faultalloc: an allocator UNDER the tracer that fails one chosen request,
 * and keeps the books the tracer's own accounting is checked against.
 *
 * install() wraps the three domains (RAW, MEM, OBJ) before tracing starts,
 * so that the tracer's hooks sit on top of these wrappers and the tracer
 * takes its own memory from the RAW one.  Every request is then one of:
 *
 *   - a TRACER request: the tracer's own memory, recognised by its caller
 *     (the return address lies in tracer_heap_alloc(), through which every
 *     byte of the tracer's memory goes; the module exports it);
 *   - a PROGRAM request: any other, at the top (what the tracer's hook
 *     passed down, or what the program asked for when not tracing) or
 *     nested (pymalloc sending a big request to the RAW domain).
 *
 * arm() chooses which request fails: the Nth program request, the Nth
 * tracer request, or every tracer request from the Nth on.
 *
 * The books: every live top-level program block (address -> size, like the
 * tracer, whatever domain frees it) and every live tracer block, in a hash
 * table made with the C library, out of sight.  Blocks allocated since the
 * last begin()/clear() are those the tracer must have traced, so:
 *
 *     get_traced_memory()[0] == their bytes (less a block whose trace was
 *                               dropped)
 *     len(_get_traces())      == their number (the same)
 *     get_tracemalloc_memory() == the live bytes of tracer requests
 *
 * check() reads both sides with nothing allocated in between: it reads the
 * books, then calls the tracer's C function directly, which reads its
 * counters before it allocates its result.
 *
 * The process must be single-threaded while this is installed.  zygote()
 * forks the children of each case from one unchanging heap.  Built for
 * tests/stress/faults.py.
 */

#include "Python.h"
#include "frameobject.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#ifndef Py_PEP445_BACKPORT
#  error "_faultalloc needs an interpreter with the PEP 445 backport"
#endif


/* ==========================================================================
 * The books
 */

enum { KIND_PROGRAM = 1, KIND_TRACER = 2 };

typedef struct block_node {
    void *ptr;
    size_t size;
    int kind;
    unsigned long epoch;
    struct block_node *next;
} block_node_t;

#define NBUCKETS (1 << 16)

static block_node_t *buckets[NBUCKETS];
static unsigned long epoch = 1;
static size_t program_count;        /* live program blocks of this epoch */
static size_t program_bytes;
static size_t tracer_bytes;         /* live tracer blocks */

static size_t
bucket_of(void *ptr)
{
    return (size_t)(((uintptr_t)ptr >> 4) % NBUCKETS);
}

static void
account(block_node_t *node, int added)
{
    if (node->kind == KIND_TRACER) {
        if (added) {
            tracer_bytes += node->size;
        }
        else {
            tracer_bytes -= node->size;
        }
    }
    else if (node->epoch == epoch) {
        if (added) {
            program_count++;
            program_bytes += node->size;
        }
        else {
            program_count--;
            program_bytes -= node->size;
        }
    }
}

/* Forget `ptr`; return 1 if it was known. */
static int
forget(void *ptr)
{
    block_node_t **link = &buckets[bucket_of(ptr)];

    while (*link != NULL) {
        if ((*link)->ptr == ptr) {
            block_node_t *node = *link;
            *link = node->next;
            account(node, 0);
            free(node);
            return 1;
        }
        link = &(*link)->next;
    }
    return 0;
}

static void
remember(void *ptr, size_t size, int kind)
{
    block_node_t *node;

    /* A block freed behind our back (and the tracer's): as the tracer
       does, the new block replaces it. */
    forget(ptr);
    node = (block_node_t *)malloc(sizeof(block_node_t));
    if (node == NULL) {
        abort();
    }
    node->ptr = ptr;
    node->size = size;
    node->kind = kind;
    node->epoch = epoch;
    node->next = buckets[bucket_of(ptr)];
    buckets[bucket_of(ptr)] = node;
    account(node, 1);
}

static void
new_epoch(void)
{
    epoch++;
    program_count = 0;
    program_bytes = 0;
}


/* ==========================================================================
 * Failures
 */

enum { ARM_NONE, ARM_PROGRAM_NTH, ARM_TRACER_NTH, ARM_TRACER_FROM };

static struct {
    int mode;
    size_t n;
    size_t program_requests;        /* since arm() */
    size_t tracer_requests;
    size_t failures;
    int failed_kind;                /* of the first failure */
    /* The last top-level program block handed out: when a tracer request
       fails right after it, its trace is the one dropped. */
    void *last_ptr;
    size_t last_size;
    /* The block that may have lost its trace, while it lives. */
    void *candidate_ptr;
    size_t candidate_size;
    size_t candidates;              /* tracer failures with a candidate */
} arm_state;

/* The range of tracer_heap_alloc() in the module's code. */
static uintptr_t heap_alloc_start, heap_alloc_end;

static __thread int depth;

static int
request_kind(void *caller)
{
    uintptr_t address = (uintptr_t)caller;

    if (address >= heap_alloc_start && address < heap_alloc_end) {
        return KIND_TRACER;
    }
    return KIND_PROGRAM;
}

/* Where the first failure happened: the Python lines of the failing
 * thread, innermost first (written without allocating). */
static char failed_where[512];

static void
where_now(void)
{
    PyThreadState *tstate = _PyThreadState_Current;
    PyFrameObject *frame = tstate != NULL ? tstate->frame : NULL;
    size_t used = 0;
    int i;

    failed_where[0] = '\0';
    for (i = 0; frame != NULL && i < 6; frame = frame->f_back, i++) {
        const char *file = PyString_AsString(frame->f_code->co_filename);
        const char *slash = strrchr(file, '/');
        int n = snprintf(failed_where + used, sizeof(failed_where) - used,
                         "%s%s:%d", i ? " < " : "", slash ? slash + 1 : file,
                         PyFrame_GetLineNumber(frame));
        if (n < 0 || (size_t)n >= sizeof(failed_where) - used) {
            break;
        }
        used += (size_t)n;
    }
}

/* Should this request fail? */
static int
must_fail(int kind)
{
    int fail = 0;

    if (kind == KIND_PROGRAM) {
        arm_state.program_requests++;
        fail = (arm_state.mode == ARM_PROGRAM_NTH
                && arm_state.program_requests == arm_state.n);
    }
    else {
        arm_state.tracer_requests++;
        fail = ((arm_state.mode == ARM_TRACER_NTH
                 && arm_state.tracer_requests == arm_state.n)
                || (arm_state.mode == ARM_TRACER_FROM
                    && arm_state.tracer_requests >= arm_state.n));
        if (fail && arm_state.last_ptr != NULL) {
            arm_state.candidate_ptr = arm_state.last_ptr;
            arm_state.candidate_size = arm_state.last_size;
            arm_state.candidates++;
        }
    }
    if (fail) {
        if (arm_state.failures == 0) {
            arm_state.failed_kind = kind;
            where_now();
        }
        arm_state.failures++;
    }
    return fail;
}

/* A top-level block went away (freed, or moved by realloc). */
static void
block_gone(void *ptr)
{
    forget(ptr);
    if (ptr == arm_state.candidate_ptr) {
        arm_state.candidate_ptr = NULL;
    }
    if (ptr == arm_state.last_ptr) {
        arm_state.last_ptr = NULL;
    }
}

static void
block_new(void *ptr, size_t size, int kind)
{
    remember(ptr, size, kind);
    if (kind == KIND_PROGRAM) {
        arm_state.last_ptr = ptr;
        arm_state.last_size = size;
    }
}


/* ==========================================================================
 * The wrappers
 */

typedef struct {
    PyMemAllocatorEx below;
} domain_t;

static domain_t domains[3];

static void *
do_malloc(domain_t *domain, size_t nelem, size_t elsize, int zeroed,
          void *caller)
{
    int kind = request_kind(caller);
    void *ptr = NULL;

    if (!must_fail(kind)) {
        depth++;
        ptr = (zeroed
               ? domain->below.calloc(domain->below.ctx, nelem, elsize)
               : domain->below.malloc(domain->below.ctx, elsize));
        depth--;
        if (ptr != NULL && depth == 0) {
            block_new(ptr, nelem * elsize, kind);
        }
    }
    return ptr;
}

static void *
wrap_malloc(void *ctx, size_t size)
{
    return do_malloc((domain_t *)ctx, 1, size, 0,
                     __builtin_return_address(0));
}

static void *
wrap_calloc(void *ctx, size_t nelem, size_t elsize)
{
    return do_malloc((domain_t *)ctx, nelem, elsize, 1,
                     __builtin_return_address(0));
}

static void *
wrap_realloc(void *ctx, void *ptr, size_t size)
{
    domain_t *domain = (domain_t *)ctx;
    int kind = request_kind(__builtin_return_address(0));
    void *ptr2;

    if (must_fail(kind)) {
        return NULL;
    }
    depth++;
    ptr2 = domain->below.realloc(domain->below.ctx, ptr, size);
    depth--;
    if (ptr2 != NULL && depth == 0) {
        if (ptr != NULL) {
            block_gone(ptr);
        }
        block_new(ptr2, size, kind);
    }
    return ptr2;
}

static void
wrap_free(void *ctx, void *ptr)
{
    domain_t *domain = (domain_t *)ctx;

    if (ptr != NULL && depth == 0) {
        block_gone(ptr);
    }
    depth++;
    domain->below.free(domain->below.ctx, ptr);
    depth--;
}


/* ==========================================================================
 * The tracer's functions, called directly (no argument tuple, nothing
 * allocated before they read their counters)
 */

static PyObject *tracer_start_args;     /* (nframe,) */
static PyObject *tracer_funcs[7];
enum { F_START, F_CLEAR, F_TRACED, F_TRACES, F_MEMORY, F_DROPPED, F_STOP };
static const char *tracer_func_names[7] = {
    "start", "clear_traces", "get_traced_memory", "_get_traces",
    "get_tracemalloc_memory", "get_dropped_traces", "stop"
};

static PyObject *
call_tracer(int which, PyObject *args)
{
    PyObject *func = tracer_funcs[which];

    return PyCFunction_GET_FUNCTION(func)(PyCFunction_GET_SELF(func), args);
}

/* The size of an integer result, or (size_t)-1 with an exception. */
static size_t
as_size(PyObject *obj)
{
    if (obj == NULL) {
        return (size_t)-1;
    }
    if (PyInt_Check(obj)) {
        return (size_t)PyInt_AsLong(obj);
    }
    return (size_t)PyLong_AsUnsignedLong(obj);
}


/* ==========================================================================
 * Python functions
 */

PyDoc_STRVAR(install_doc,
"install(tracemalloc_module)\n\
\n\
Wrap the three domains (before tracing starts).  tracemalloc_module is\n\
_tracemalloc: its tracer_heap_alloc() tells the tracer's requests apart.");

static PyObject *
install(PyObject *self, PyObject *module)
{
    PyObject *file;
    void *handle, *symbol;
    Dl_info info;
    ElfW(Sym) *entry = NULL;
    PyMemAllocatorEx alloc;
    PyMemAllocatorDomain which[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                     PYMEM_DOMAIN_OBJ};
    int i;

    (void)self;
    if (heap_alloc_start != 0) {
        PyErr_SetString(PyExc_RuntimeError, "already installed");
        return NULL;
    }
    for (i = 0; i < 7; i++) {
        tracer_funcs[i] = PyObject_GetAttrString(module,
                                                 tracer_func_names[i]);
        if (tracer_funcs[i] == NULL) {
            return NULL;
        }
        if (!PyCFunction_Check(tracer_funcs[i])) {
            PyErr_Format(PyExc_TypeError, "%s is not a C function",
                         tracer_func_names[i]);
            return NULL;
        }
    }
    file = PyObject_GetAttrString(module, "__file__");
    if (file == NULL || !PyString_Check(file)) {
        Py_XDECREF(file);
        PyErr_SetString(PyExc_TypeError, "the module has no __file__");
        return NULL;
    }
    handle = dlopen(PyString_AS_STRING(file), RTLD_NOW | RTLD_NOLOAD);
    Py_DECREF(file);
    symbol = handle != NULL ? dlsym(handle, "tracer_heap_alloc") : NULL;
    if (symbol == NULL
        || !dladdr1(symbol, &info, (void **)&entry, RTLD_DL_SYMENT)
        || entry == NULL || entry->st_size == 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot find tracer_heap_alloc() in _tracemalloc");
        return NULL;
    }
    heap_alloc_start = (uintptr_t)symbol;
    heap_alloc_end = heap_alloc_start + entry->st_size;

    alloc.malloc = wrap_malloc;
    alloc.calloc = wrap_calloc;
    alloc.realloc = wrap_realloc;
    alloc.free = wrap_free;
    for (i = 0; i < 3; i++) {
        PyMem_GetAllocator(which[i], &domains[i].below);
        alloc.ctx = &domains[i];
        PyMem_SetAllocator(which[i], &alloc);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(begin_doc,
"begin(traced, nframe)\n\
\n\
Start counting blocks anew; with traced true, start tracing first\n\
(_tracemalloc.start(nframe), called directly).");

static PyObject *
begin(PyObject *self, PyObject *args)
{
    int traced, nframe;
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTuple(args, "ii", &traced, &nframe)) {
        return NULL;
    }
    Py_CLEAR(tracer_start_args);
    tracer_start_args = Py_BuildValue("(i)", nframe);
    if (tracer_start_args == NULL) {
        return NULL;
    }
    new_epoch();
    if (traced) {
        result = call_tracer(F_START, tracer_start_args);
        if (result == NULL) {
            return NULL;
        }
        Py_DECREF(result);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(clear_doc,
"clear()\n\
\n\
_tracemalloc.clear_traces(), called directly, and count blocks anew.");

static PyObject *
clear(PyObject *self, PyObject *unused)
{
    PyObject *result;

    (void)self;
    (void)unused;
    /* Nothing is allocated between the two: the tables are emptied first,
       then the traceback store is released (which frees old blocks). */
    new_epoch();
    result = call_tracer(F_CLEAR, NULL);
    return result;
}

PyDoc_STRVAR(arm_doc,
"arm(mode, n)\n\
\n\
mode 0: no failure; 1: the nth program request fails; 2: the nth tracer\n\
request fails; 3: every tracer request from the nth on fails.  Counts\n\
from now.");

static PyObject *
arm(PyObject *self, PyObject *args)
{
    int mode;
    Py_ssize_t n;

    (void)self;
    if (!PyArg_ParseTuple(args, "in", &mode, &n)) {
        return NULL;
    }
    memset(&arm_state, 0, sizeof(arm_state));
    arm_state.n = (size_t)n;
    /* the last assignment: from here on requests may fail */
    arm_state.mode = mode;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(disarm_doc,
"disarm() -> (program_requests, tracer_requests, failures, failed_kind,\n\
where)\n\
\n\
Stop failing; failed_kind is 'program', 'tracer' or None, where the\n\
Python lines running at the first failure (or None).");

static PyObject *
disarm(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    arm_state.mode = ARM_NONE;
    return Py_BuildValue(
        "(nnnzz)", (Py_ssize_t)arm_state.program_requests,
        (Py_ssize_t)arm_state.tracer_requests,
        (Py_ssize_t)arm_state.failures,
        arm_state.failures == 0 ? NULL
        : arm_state.failed_kind == KIND_PROGRAM ? "program" : "tracer",
        arm_state.failures == 0 ? NULL : failed_where);
}

PyDoc_STRVAR(check_doc,
"check() -> dict\n\
\n\
Both sides of the books, each pair read with nothing allocated in\n\
between: blocks/bytes (live program blocks of this epoch) against\n\
traces/traces_bytes (len and sum of _get_traces()); bytes2 against\n\
traced (get_traced_memory()[0]) and peak; tracer_bytes against\n\
tracemalloc_memory; dropped; candidate (size of the live block that may\n\
have lost its trace, -1 if none) and candidates (tracer failures that\n\
followed a program block).");

static PyObject *
check(PyObject *self, PyObject *unused)
{
    size_t blocks, bytes, bytes2, own;
    Py_ssize_t candidate;
    size_t traced, peak, ntraces, traces_bytes, memory, dropped;
    PyObject *result;
    Py_ssize_t i;

    (void)self;
    (void)unused;
    arm_state.mode = ARM_NONE;
    if (PyErr_Occurred()) {
        PyErr_SetString(PyExc_AssertionError,
                        "check(): an exception is pending");
        return NULL;
    }

    candidate = (arm_state.candidate_ptr != NULL
                 ? (Py_ssize_t)arm_state.candidate_size : -1);
    /* len and sum of _get_traces() */
    blocks = program_count;
    bytes = program_bytes;
    result = call_tracer(F_TRACES, NULL);
    if (result == NULL) {
        return NULL;
    }
    ntraces = (size_t)PyList_GET_SIZE(result);
    traces_bytes = 0;
    for (i = 0; i < PyList_GET_SIZE(result); i++) {
        PyObject *trace = PyList_GET_ITEM(result, i);
        traces_bytes += as_size(PyTuple_GET_ITEM(trace, 1));
    }
    Py_DECREF(result);
    if (PyErr_Occurred()) {
        return NULL;
    }

    /* get_traced_memory() */
    bytes2 = program_bytes;
    result = call_tracer(F_TRACED, NULL);
    if (result == NULL) {
        return NULL;
    }
    traced = as_size(PyTuple_GET_ITEM(result, 0));
    peak = as_size(PyTuple_GET_ITEM(result, 1));
    Py_DECREF(result);

    /* get_tracemalloc_memory() */
    own = tracer_bytes;
    result = call_tracer(F_MEMORY, NULL);
    memory = as_size(result);
    Py_XDECREF(result);

    result = call_tracer(F_DROPPED, NULL);
    dropped = as_size(result);
    Py_XDECREF(result);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        "blocks", (Py_ssize_t)blocks, "bytes", (Py_ssize_t)bytes,
        "traces", (Py_ssize_t)ntraces,
        "traces_bytes", (Py_ssize_t)traces_bytes,
        "bytes2", (Py_ssize_t)bytes2, "traced", (Py_ssize_t)traced,
        "peak", (Py_ssize_t)peak,
        "tracer_bytes", (Py_ssize_t)own,
        "tracemalloc_memory", (Py_ssize_t)memory,
        "dropped", (Py_ssize_t)dropped,
        "candidate", candidate,
        "candidates", (Py_ssize_t)arm_state.candidates);
}

PyDoc_STRVAR(stop_and_measure_doc,
"stop_and_measure() -> (tracemalloc_memory, tracer_bytes, left)\n\
\n\
get_tracemalloc_memory() and the bytes the tracer holds, read together;\n\
then _tracemalloc.stop(), called directly, and the tracer bytes still\n\
held after it (0: stop() gave everything back).");

static PyObject *
stop_and_measure(PyObject *self, PyObject *unused)
{
    size_t before, memory;
    PyObject *result;

    (void)self;
    (void)unused;
    arm_state.mode = ARM_NONE;
    before = tracer_bytes;
    result = call_tracer(F_MEMORY, NULL);
    memory = as_size(result);
    Py_XDECREF(result);
    if (PyErr_Occurred()) {
        return NULL;
    }
    result = call_tracer(F_STOP, NULL);
    if (result == NULL) {
        return NULL;
    }
    Py_DECREF(result);
    return Py_BuildValue("(nnn)", (Py_ssize_t)memory, (Py_ssize_t)before,
                         (Py_ssize_t)tracer_bytes);
}

PyDoc_STRVAR(pending_exception_doc,
"pending_exception() -> name or None\n\
\n\
The type of an exception left set by C code that then returned success\n\
(nothing in 2.7 checks for one), cleared; None if there is none.");

static PyObject *
pending_exception(PyObject *self, PyObject *unused)
{
    PyObject *type, *value, *traceback, *name;

    (void)self;
    (void)unused;
    if (!PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    PyErr_Fetch(&type, &value, &traceback);
    name = PyString_FromString(((PyTypeObject *)type)->tp_name);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return name;
}


/* ==========================================================================
 * The zygote: a process that forks every case from one unchanging heap
 *
 * Python code between two forks changes the heap (free lists, pools), and
 * so which request is the Nth.  The zygote is forked once, early, and then
 * runs nothing but this C loop: read a case, fork its children, wait for
 * them, write how they ended.  Every child returns from zygote() into
 * Python with the same heap, whatever cases ran before: a case run alone
 * makes the same requests as in the sweep.
 */

typedef struct {
    int mode;
    int pair;
    long n;
    long number;
} case_t;

typedef struct {
    int status[2];      /* waitpid() status, or -1: killed after the time */
} ended_t;

static int zygote_commands = -1, zygote_replies = -1;

/* In the zygote: wait for `pid` at most `seconds`. */
static int
wait_or_kill(pid_t pid, int seconds)
{
    int status, i;

    for (i = 0; i < seconds * 1000; i++) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            return status;
        }
        if (done < 0) {
            return -2;
        }
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

PyDoc_STRVAR(zygote_doc,
"zygote(timeout) -> ('parent', pid) or ('case', kind, mode, pair, n,\n\
number)\n\
\n\
Fork the zygote.  The parent gets ('parent', pid) and runs cases with\n\
zygote_run().  Each case's children return ('case', kind, mode, pair, n,\n\
number): kind 1 traced, 0 untraced; they must end with os._exit().\n\
A child still running after `timeout` seconds is killed.");

static PyObject *
zygote(PyObject *self, PyObject *args)
{
    int commands[2], replies[2], timeout;
    pid_t pid;

    (void)self;
    if (!PyArg_ParseTuple(args, "i", &timeout)) {
        return NULL;
    }
    if (pipe(commands) < 0 || pipe(replies) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    pid = fork();
    if (pid < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (pid > 0) {
        close(commands[0]);
        close(replies[1]);
        zygote_commands = commands[1];
        zygote_replies = replies[0];
        return Py_BuildValue("(si)", "parent", (int)pid);
    }
    PyOS_AfterFork();
    close(commands[1]);
    close(replies[0]);
    for (;;) {
        case_t command;
        ended_t ended;
        pid_t pids[2] = {0, 0};
        int i;

        if (read(commands[0], &command, sizeof(command))
            != (ssize_t)sizeof(command)) {
            _exit(0);
        }
        for (i = command.pair ? 0 : 1; i < 2; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                close(commands[0]);
                close(replies[1]);
                PyOS_AfterFork();
                return Py_BuildValue("(siiili)", "case", i, command.mode,
                                     command.pair, command.n,
                                     command.number);
            }
        }
        for (i = 0; i < 2; i++) {
            ended.status[i] = (pids[i] > 0 ? wait_or_kill(pids[i], timeout)
                               : -2);
        }
        if (write(replies[1], &ended, sizeof(ended))
            != (ssize_t)sizeof(ended)) {
            _exit(1);
        }
    }
}

PyDoc_STRVAR(zygote_run_doc,
"zygote_run(mode, n, pair, number) -> (status0, status1)\n\
\n\
Run a case in the zygote: its traced child (and with pair, its untraced\n\
one); return their waitpid() statuses (-1: killed after the timeout,\n\
-2: not run).");

static PyObject *
zygote_run(PyObject *self, PyObject *args)
{
    case_t command;
    ended_t ended;
    ssize_t done;

    (void)self;
    memset(&command, 0, sizeof(command));
    if (!PyArg_ParseTuple(args, "ilil", &command.mode, &command.n,
                          &command.pair, &command.number)) {
        return NULL;
    }
    if (write(zygote_commands, &command, sizeof(command))
        != (ssize_t)sizeof(command)) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_BEGIN_ALLOW_THREADS
    done = read(zygote_replies, &ended, sizeof(ended));
    Py_END_ALLOW_THREADS
    if (done != (ssize_t)sizeof(ended)) {
        PyErr_SetString(PyExc_RuntimeError, "the zygote died");
        return NULL;
    }
    return Py_BuildValue("(ii)", ended.status[0], ended.status[1]);
}

#define METHOD(name, flags) {#name, name, flags, name##_doc}

static PyMethodDef methods[] = {
    METHOD(install, METH_O),
    METHOD(begin, METH_VARARGS),
    METHOD(clear, METH_NOARGS),
    METHOD(arm, METH_VARARGS),
    METHOD(disarm, METH_NOARGS),
    METHOD(check, METH_NOARGS),
    METHOD(stop_and_measure, METH_NOARGS),
    METHOD(pending_exception, METH_NOARGS),
    METHOD(zygote, METH_VARARGS),
    METHOD(zygote_run, METH_VARARGS),
    {NULL, NULL, 0, NULL}
};

PyMODINIT_FUNC
init_faultalloc(void)
{
    (void)Py_InitModule("_faultalloc", methods);
}
