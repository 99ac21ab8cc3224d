/* pytracemalloc.h: let a C extension report its own memory to tracemalloc.
 *
 * An extension that allocates memory without the Python allocators (its
 * own pool, mmap(), a GPU heap) can still have that memory traced, as in
 * CPython 3.7 and later:
 *
 *     int PyTraceMalloc_Track(unsigned int domain, uintptr_t ptr,
 *                             size_t size);
 *         Trace the block [ptr; ptr + size) of the address space `domain`,
 *         with the traceback of the current Python call (if the calling
 *         thread holds the GIL; otherwise the traceback reads
 *         ("<unknown>", 0)).  A trace that `ptr` already had in `domain`
 *         is replaced.
 *
 *     int PyTraceMalloc_Untrack(unsigned int domain, uintptr_t ptr);
 *         Forget the trace of `ptr` in `domain`; not an error if it had
 *         none.
 *
 * Both return 0 on success, -1 on error (the tracer is out of memory; no
 * exception is set) and -2 if tracemalloc is not tracing (or could not be
 * imported).  Both may be called without the GIL.  Domain 0 is the
 * interpreter's own memory; pick another number for yours (snapshots can
 * be filtered with tracemalloc.DomainFilter).  `ptr` must not be 0.
 *
 * With Python 2.7 and 3.3 the functions live in the _tracemalloc extension
 * module and are reached through the capsule _tracemalloc._C_API.  Import it
 * once, in your module's init function, in each C file that uses them:
 *
 *     #include "pytracemalloc.h"
 *
 *     PyMODINIT_FUNC
 *     initmymodule(void)
 *     {
 *         ...
 *         if (PyTraceMalloc_Import() < 0) {
 *             PyErr_Clear();      (tracing is optional: the calls return -2)
 *         }
 *     }
 *
 *     p = my_pool_alloc(pool, n);
 *     PyTraceMalloc_Track(MY_DOMAIN, (uintptr_t)p, n);
 *     ...
 *     PyTraceMalloc_Untrack(MY_DOMAIN, (uintptr_t)p);
 *     my_pool_free(pool, p);
 *
 * With Python 3.7 and later the interpreter provides the functions itself:
 * this header then only defines PyTraceMalloc_Import() to return 0, so the
 * same source builds everywhere.
 */

#ifndef PYTRACEMALLOC_H
#define PYTRACEMALLOC_H

#include "Python.h"

#define PyTraceMalloc_CAPSULE_NAME "_tracemalloc._C_API"

/* The capsule's content.  Later versions may add members at the end. */
#define PyTraceMalloc_API_VERSION 1

typedef struct {
    int version;            /* PyTraceMalloc_API_VERSION or more */
    int (*track)(unsigned int domain, uintptr_t ptr, size_t size);
    int (*untrack)(unsigned int domain, uintptr_t ptr);
} PyTraceMalloc_CAPI;

#if defined(__GNUC__)
#  define PyTraceMalloc_MAYBE_UNUSED __attribute__((unused))
#else
#  define PyTraceMalloc_MAYBE_UNUSED
#endif

#if PY_VERSION_HEX >= 0x03070000

PyTraceMalloc_MAYBE_UNUSED static int
PyTraceMalloc_Import(void)
{
    return 0;
}

#elif !defined(PYTRACEMALLOC_MODULE)

/* NULL until PyTraceMalloc_Import() succeeds. */
PyTraceMalloc_MAYBE_UNUSED static PyTraceMalloc_CAPI *PyTraceMalloc_API
    = NULL;

/* Return 0, or -1 with an exception set (ImportError if the interpreter
 * lacks the PEP 445 backport or the module is too old). */
PyTraceMalloc_MAYBE_UNUSED static int
PyTraceMalloc_Import(void)
{
    PyTraceMalloc_CAPI *api;

    api = (PyTraceMalloc_CAPI *)PyCapsule_Import(PyTraceMalloc_CAPSULE_NAME,
                                                 0);
    if (api == NULL) {
        return -1;
    }
    if (api->version < PyTraceMalloc_API_VERSION) {
        PyErr_SetString(PyExc_ImportError,
                        "_tracemalloc._C_API is too old");
        return -1;
    }
    PyTraceMalloc_API = api;
    return 0;
}

PyTraceMalloc_MAYBE_UNUSED static int
PyTraceMalloc_Track(unsigned int domain, uintptr_t ptr, size_t size)
{
    if (PyTraceMalloc_API == NULL) {
        return -2;
    }
    return PyTraceMalloc_API->track(domain, ptr, size);
}

PyTraceMalloc_MAYBE_UNUSED static int
PyTraceMalloc_Untrack(unsigned int domain, uintptr_t ptr)
{
    if (PyTraceMalloc_API == NULL) {
        return -2;
    }
    return PyTraceMalloc_API->untrack(domain, ptr);
}

#endif /* PY_VERSION_HEX < 0x03070000 && !PYTRACEMALLOC_MODULE */

#endif /* !PYTRACEMALLOC_H */
