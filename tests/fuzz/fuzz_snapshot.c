/* Fuzz target: the snapshot loader (backport/tracemalloc_snapshot_file.py)
 * of the patched interpreter, embedded.
 *
 * Why embed the interpreter in a C harness rather than fuzz from Python:
 * libFuzzer (or tests/fuzz/driver.c) then runs it like any C target, one
 * process, thousands of inputs a second, crash inputs saved, and a crash
 * of the interpreter itself (cPickle is C) is caught like an assertion.
 * The interpreter is not built with coverage instrumentation (that would be
 * another build of it), so the harness gives libFuzzer Python-level
 * coverage instead: a C trace function (PyEval_SetTrace) maps every line
 * executed to a counter of the __libfuzzer_extra_counters section, and the
 * way each input ended (loaded, or the kind of refusal) to another.
 *
 * Each input is written to a file and checked by snapshot_target.check()
 * (see there: refused with SnapshotFileError, or loaded and usable by the
 * whole API, and nothing imported).  A violation prints the Python
 * traceback and aborts.
 *
 * Compile-time: FUZZ_PYTHON (the patched interpreter's path, for
 * Py_SetProgramName), FUZZ_DIR (tests/fuzz, put on sys.path).
 */

#include "Python.h"
#include "frameobject.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FUZZ_PYTHON
#  error "define FUZZ_PYTHON, the patched interpreter's path"
#endif
#ifndef FUZZ_DIR
#  error "define FUZZ_DIR, the directory of snapshot_target.py"
#endif

#define NCOUNTERS (1 << 16)

#if defined(__clang__)
__attribute__((section("__libfuzzer_extra_counters")))
#endif
static uint8_t counters[NCOUNTERS];

static PyObject *check_func;
static char input_path[256];

static uint32_t
mix(uintptr_t a, uintptr_t b)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ULL ^ (uint64_t)b;

    h *= 0xC2B2AE3D27D4EB4FULL;
    return (uint32_t)(h >> 40);
}

static int
trace_lines(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    static uintptr_t previous;
    uintptr_t here;

    (void)obj;
    (void)arg;
    if (what != PyTrace_LINE && what != PyTrace_CALL) {
        return 0;
    }
    /* edges between lines, as libFuzzer counts edges between blocks */
    here = (uintptr_t)frame->f_code * 31 + (uintptr_t)frame->f_lineno;
    counters[mix(previous, here) % NCOUNTERS]++;
    previous = here;
    return 0;
}

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_snapshot: %s\n", what);
    if (PyErr_Occurred()) {
        PyErr_Print();
    }
    fflush(stderr);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    PyObject *module, *path, *dir;

    (void)argc;
    (void)argv;
    snprintf(input_path, sizeof(input_path), "%s/fuzz-snapshot-input-%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    Py_SetProgramName((char *)FUZZ_PYTHON);
    Py_NoSiteFlag = 1;
    Py_Initialize();
    path = PySys_GetObject("path");
    dir = PyString_FromString(FUZZ_DIR);
    if (path == NULL || dir == NULL || PyList_Insert(path, 0, dir) < 0) {
        fail("cannot set sys.path");
    }
    Py_DECREF(dir);
    module = PyImport_ImportModule("snapshot_target");
    if (module == NULL) {
        fail("cannot import snapshot_target");
    }
    check_func = PyObject_GetAttrString(module, "check");
    if (check_func == NULL) {
        fail("snapshot_target has no check()");
    }
    Py_DECREF(module);
    PyEval_SetTrace(trace_lines, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *fp = fopen(input_path, "wb");
    PyObject *result;

    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
        perror(input_path);
        abort();
    }
    result = PyObject_CallFunction(check_func, "s", input_path);
    if (result == NULL) {
        fail("the property does not hold for this input:");
    }
    if (PyString_Check(result)) {
        counters[mix(0x5eed, (uintptr_t)PyObject_Hash(result))
                 % NCOUNTERS]++;
        PyErr_Clear();
    }
    Py_DECREF(result);
    return 0;
}
