/* owntracks: a C extension that allocates memory with malloc() and reports
 * the blocks to tracemalloc through pytracemalloc.h, in its own domain. */

#include "Python.h"
#include "pytracemalloc.h"

#include <stdlib.h>

#define OWNTRACKS_DOMAIN 7

/* alloc(size) -> (address, PyTraceMalloc_Track()'s result) */
static PyObject *
owntracks_alloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    void *block;
    int tracked;

    if (!PyArg_ParseTuple(args, "n:alloc", &size)) {
        return NULL;
    }
    block = malloc(size);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    tracked = PyTraceMalloc_Track(OWNTRACKS_DOMAIN, (uintptr_t)block, size);
    return Py_BuildValue("Ni", PyLong_FromVoidPtr(block), tracked);
}

/* free(address) -> PyTraceMalloc_Untrack()'s result */
static PyObject *
owntracks_free(PyObject *self, PyObject *address)
{
    void *block = PyLong_AsVoidPtr(address);
    int untracked;

    if (block == NULL) {
        return NULL;
    }
    untracked = PyTraceMalloc_Untrack(OWNTRACKS_DOMAIN, (uintptr_t)block);
    free(block);
    return PyInt_FromLong(untracked);
}

static PyMethodDef owntracks_methods[] = {
    {"alloc", owntracks_alloc, METH_VARARGS, NULL},
    {"free", owntracks_free, METH_O, NULL},
    {NULL, NULL, 0, NULL}
};

PyMODINIT_FUNC
initowntracks(void)
{
    PyObject *module = Py_InitModule("owntracks", owntracks_methods);

    if (module == NULL) {
        return;
    }
    PyModule_AddIntConstant(module, "DOMAIN", OWNTRACKS_DOMAIN);
    if (PyTraceMalloc_Import() < 0) {
        return;     /* ImportError: _tracemalloc is missing */
    }
}
