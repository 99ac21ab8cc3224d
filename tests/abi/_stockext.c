/* _stockext: a C extension built against the headers of STOCK Python 2.7
 * (or 3.3), loaded by the PEP 445 interpreter to prove that the patch series
 * keeps the ABI that extensions compiled years ago rely on.  The stock 3.3
 * headers expand the macros below exactly as 2.7's do.
 *
 * Built with the stock headers, in a release build:
 *   PyMem_MALLOC / PyMem_REALLOC / PyMem_FREE  ->  malloc / realloc / free,
 *   inlined into this file, out of reach of the PEP 445 hooks;
 *   PyMem_NEW / PyMem_RESIZE / PyMem_DEL       ->  the same, typed;
 *   PyObject_MALLOC / PyObject_FREE            ->  PyObject_Malloc / _Free.
 * In a --with-pydebug build the PyMem and PyObject macros expand to
 * _PyMem_DebugMalloc() and _PyObject_DebugMalloc() and friends instead.
 *
 * The functions mix the macros and the functions the way stock extensions
 * really do (legal under 2.7's rules, where PyMem_Malloc() was malloc()):
 * allocate with one, release with the other, and even free() a
 * PyMem_Malloc() block behind the interpreter's back.
 *
 * It also installs a PyOS_ReadlineFunctionPointer hook, as readline
 * replacements do, that returns a PyMem_MALLOC (malloc) or, as the 2.7
 * documentation asks, a PyMem_Malloc() buffer, and frees PyOS_Readline()'s
 * result with PyMem_FREE like the 2.7 callers.
 *
 * C89 with the C99 bits gcc 4.4 knows; warning-free with -Wall -Wextra.
 */

#define PY_SSIZE_T_CLEAN
#include "Python.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef Py_PEP445_BACKPORT
#  error "_stockext must be compiled against the STOCK Python headers"
#endif

/* 3.3: the 2.7 names used below.  What 2.7 returns as str (ASCII text built
   here) is str, made from the same bytes; encode() returns bytes; the
   module is initialized the 3.x way (at the end). */
#if PY_MAJOR_VERSION >= 3
#  define PyInt_FromLong PyLong_FromLong
#  define PyInt_FromSsize_t PyLong_FromSsize_t
#  define PyString_FromString PyUnicode_FromString
#  define PyString_FromStringAndSize PyUnicode_FromStringAndSize
#  define PyString_FromFormat PyUnicode_FromFormat
#  define ENCODED_PAIR "(yy#)"
#else
#  define ENCODED_PAIR "(ss#)"
#endif

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

/* Fill `n` bytes with a pattern that depends on the seed, and check it. */
static void
fill(unsigned char *p, size_t n, unsigned int seed)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 31u + seed) & 0xff);
}

static int
check(const unsigned char *p, size_t n, unsigned int seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != (unsigned char)((i * 31u + seed) & 0xff))
            return 0;
    }
    return 1;
}

static PyObject *
corrupted(const char *where)
{
    PyErr_Format(PyExc_AssertionError, "%s: the block lost its contents",
                 where);
    return NULL;
}


/* ==========================================================================
 * How this file was compiled
 */

static PyObject *
stock_macro_expansions(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_BuildValue(
        "{ssssssssssssss}",
        "PyMem_MALLOC", STRINGIFY(PyMem_MALLOC(n)),
        "PyMem_REALLOC", STRINGIFY(PyMem_REALLOC(p, n)),
        "PyMem_FREE", STRINGIFY(PyMem_FREE(p)),
        "PyMem_DEL", STRINGIFY(PyMem_DEL(p)),
        "PyObject_MALLOC", STRINGIFY(PyObject_MALLOC(n)),
        "PyObject_REALLOC", STRINGIFY(PyObject_REALLOC(p, n)),
        "PyObject_FREE", STRINGIFY(PyObject_FREE(p)));
}

static PyObject *
stock_pydebug(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
#ifdef PYMALLOC_DEBUG
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}


/* ==========================================================================
 * PyMem: macros and functions mixed
 */

/* PyMem_MALLOC (inline malloc in a release build), released with the
 * function PyMem_Free(). */
static PyObject *
stock_macro_malloc_func_free(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    unsigned char *p;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:macro_malloc_func_free", &n))
        return NULL;
    p = (unsigned char *)PyMem_MALLOC(n);
    if (p == NULL)
        return PyErr_NoMemory();
    fill(p, (size_t)n, 1);
    if (!check(p, (size_t)n, 1)) {
        PyMem_Free(p);
        return corrupted("macro_malloc_func_free");
    }
    PyMem_Free(p);
    Py_RETURN_TRUE;
}

/* PyMem_Malloc() (the function), released with PyMem_FREE (inline free). */
static PyObject *
stock_func_malloc_macro_free(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    unsigned char *p;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:func_malloc_macro_free", &n))
        return NULL;
    p = (unsigned char *)PyMem_Malloc(n);
    if (p == NULL)
        return PyErr_NoMemory();
    fill(p, (size_t)n, 2);
    if (!check(p, (size_t)n, 2)) {
        PyMem_FREE(p);
        return corrupted("func_malloc_macro_free");
    }
    PyMem_FREE(p);
    Py_RETURN_TRUE;
}

/* PyMem_MALLOC(0) and PyMem_Malloc(0) both give a distinct non-NULL block,
 * each released by the other family. */
static PyObject *
stock_zero_sizes(PyObject *self, PyObject *unused)
{
    void *a, *b;
    int ok;

    (void)self;
    (void)unused;
    a = PyMem_MALLOC(0);
    b = PyMem_Malloc(0);
    ok = (a != NULL && b != NULL && a != b);
    PyMem_Free(a);
    PyMem_FREE(b);
    return PyBool_FromLong(ok);
}

/* PyMem_NEW, then PyMem_RESIZE a step at a time up to n longs (inline
 * realloc), with PyMem_Resize (the function) every other step, and
 * PyMem_DEL (inline free) at the end.  Return the sum of the elements. */
static PyObject *
stock_new_resize_del(PyObject *self, PyObject *args)
{
    Py_ssize_t n, size, i;
    long *v, *saved;
    long sum = 0;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:new_resize_del", &n))
        return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be at least 1");
        return NULL;
    }
    v = PyMem_NEW(long, 1);
    if (v == NULL)
        return PyErr_NoMemory();
    v[0] = 0;
    for (size = 2; size <= n; size++) {
        saved = v;
        if (size % 2)
            PyMem_RESIZE(v, long, size);
        else
            PyMem_Resize(v, long, size);
        if (v == NULL) {
            PyMem_DEL(saved);
            return PyErr_NoMemory();
        }
        v[size - 1] = (long)(size - 1);
    }
    for (i = 0; i < n; i++)
        sum += v[i];
    PyMem_DEL(v);
    return PyInt_FromLong(sum);
}

/* PyMem_New (the function) released with PyMem_DEL (inline free), and
 * PyMem_NEW (inline malloc) released with PyMem_Del (the function). */
static PyObject *
stock_new_del_mixed(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    double *a, *b;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:new_del_mixed", &n))
        return NULL;
    a = PyMem_New(double, n);
    b = PyMem_NEW(double, n);
    if (a == NULL || b == NULL) {
        PyMem_Del(a);
        PyMem_DEL(b);
        return PyErr_NoMemory();
    }
    if (n > 0) {
        a[n - 1] = 1.5;
        b[n - 1] = 2.5;
    }
    PyMem_DEL(a);
    PyMem_Del(b);
    Py_RETURN_TRUE;
}

/* A buffer grown by doubling, from PyMem_Malloc() with PyMem_REALLOC
 * (inline realloc) when `macro` is true, from PyMem_MALLOC with
 * PyMem_Realloc() otherwise, made into a string of n bytes and released
 * with the other family. */
static PyObject *
stock_realloc_grow(PyObject *self, PyObject *args)
{
    Py_ssize_t n, used = 0, capacity = 16;
    int macro = 1;
    char *buf, *bigger;
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTuple(args, "n|i:realloc_grow", &n, &macro))
        return NULL;
    buf = (char *)(macro ? PyMem_Malloc(capacity) : PyMem_MALLOC(capacity));
    if (buf == NULL)
        return PyErr_NoMemory();
    while (used < n) {
        if (used == capacity) {
            capacity *= 2;
            bigger = (char *)(macro ? PyMem_REALLOC(buf, capacity)
                                    : PyMem_Realloc(buf, capacity));
            if (bigger == NULL) {
                PyMem_Free(buf);
                return PyErr_NoMemory();
            }
            buf = bigger;
        }
        buf[used] = (char)('a' + used % 26);
        used++;
    }
    result = PyString_FromStringAndSize(buf, n);
    if (macro)
        PyMem_Free(buf);
    else
        PyMem_FREE(buf);
    return result;
}

/* A PyMem_Malloc() block released with free() behind the interpreter's
 * back, then another PyMem_Malloc() (libc may hand out the same address)
 * released with PyMem_Free().  Return (True, same address?). */
static PyObject *
stock_free_behind_back(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    unsigned char *p, *q;
    int same, ok;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:free_behind_back", &n))
        return NULL;
    p = (unsigned char *)PyMem_Malloc(n);
    if (p == NULL)
        return PyErr_NoMemory();
    fill(p, (size_t)n, 3);
    free(p);
    q = (unsigned char *)PyMem_Malloc(n);
    if (q == NULL)
        return PyErr_NoMemory();
    same = (p == q);
    fill(q, (size_t)n, 4);
    ok = check(q, (size_t)n, 4);
    PyMem_Free(q);
    if (!ok)
        return corrupted("free_behind_back");
    return Py_BuildValue("(OO)", Py_True, same ? Py_True : Py_False);
}

/* Blocks kept across calls, so that the tests can look at the traced
 * memory while they are alive. */
#define NHELD 64
static void *held[NHELD];
static int held_macro[NHELD];

/* hold(slot, n, macro): allocate n bytes in a slot, with PyMem_MALLOC if
 * `macro` is true, with PyMem_Malloc() otherwise. */
static PyObject *
stock_hold(PyObject *self, PyObject *args)
{
    int slot, macro;
    Py_ssize_t n;
    void *p;

    (void)self;
    if (!PyArg_ParseTuple(args, "ini:hold", &slot, &n, &macro))
        return NULL;
    if (slot < 0 || slot >= NHELD || held[slot] != NULL) {
        PyErr_SetString(PyExc_ValueError, "bad or busy slot");
        return NULL;
    }
    p = macro ? PyMem_MALLOC(n) : PyMem_Malloc(n);
    if (p == NULL)
        return PyErr_NoMemory();
    memset(p, 0x5a, (size_t)n);
    held[slot] = p;
    held_macro[slot] = macro;
    return PyLong_FromVoidPtr(p);
}

/* release(slot): with the OTHER family than the block was allocated by. */
static PyObject *
stock_release(PyObject *self, PyObject *args)
{
    int slot;

    (void)self;
    if (!PyArg_ParseTuple(args, "i:release", &slot))
        return NULL;
    if (slot < 0 || slot >= NHELD || held[slot] == NULL) {
        PyErr_SetString(PyExc_ValueError, "bad or empty slot");
        return NULL;
    }
    if (held_macro[slot])
        PyMem_Free(held[slot]);
    else
        PyMem_FREE(held[slot]);
    held[slot] = NULL;
    Py_RETURN_NONE;
}


/* ==========================================================================
 * PyObject_MALLOC / PyObject_REALLOC / PyObject_FREE
 */

/* `count` blocks of 1 to `maxsize` bytes (pymalloc's small sizes and
 * beyond), grown with PyObject_REALLOC and checked, then released;
 * PyObject_MALLOC(0) too.  Return the number of blocks. */
static PyObject *
stock_object_malloc_free(PyObject *self, PyObject *args)
{
    Py_ssize_t count, maxsize, i, size;
    unsigned char **blocks;
    unsigned char *bigger;
    void *zero;
    int ok = 1;

    (void)self;
    if (!PyArg_ParseTuple(args, "nn:object_malloc_free", &count, &maxsize))
        return NULL;
    if (count < 1 || maxsize < 1) {
        PyErr_SetString(PyExc_ValueError, "count and maxsize must be >= 1");
        return NULL;
    }
    blocks = (unsigned char **)PyObject_MALLOC(count * sizeof(*blocks));
    if (blocks == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < count; i++) {
        size = 1 + (i * 37) % maxsize;
        blocks[i] = (unsigned char *)PyObject_MALLOC(size);
        if (blocks[i] == NULL) {
            while (--i >= 0)
                PyObject_FREE(blocks[i]);
            PyObject_FREE(blocks);
            return PyErr_NoMemory();
        }
        fill(blocks[i], (size_t)size, (unsigned int)i);
    }
    for (i = 0; i < count; i++) {
        size = 1 + (i * 37) % maxsize;
        bigger = (unsigned char *)PyObject_REALLOC(blocks[i], 2 * size);
        if (bigger != NULL) {
            blocks[i] = bigger;
            if (!check(blocks[i], (size_t)size, (unsigned int)i))
                ok = 0;
        }
    }
    for (i = 0; i < count; i++)
        PyObject_FREE(blocks[i]);
    PyObject_FREE(blocks);

    zero = PyObject_MALLOC(0);
    if (zero == NULL)
        return PyErr_NoMemory();
    PyObject_FREE(zero);
    if (!ok)
        return corrupted("object_malloc_free");
    return PyInt_FromSsize_t(count);
}


/* ==========================================================================
 * A tiny type of our own: PyObject_New / PyObject_NEW and PyObject_Del
 */

typedef struct {
    PyObject_HEAD
    unsigned char *data;    /* PyMem_MALLOC'ed, PyMem_Free'd */
    Py_ssize_t size;
    int from_macro;         /* allocated by PyObject_NEW, not PyObject_New */
} BlobObject;

static PyTypeObject Blob_Type;   /* filled in by the module's init */
static Py_ssize_t live_blobs = 0;

static void
blob_dealloc(BlobObject *self)
{
    PyMem_Free(self->data);     /* allocated with PyMem_MALLOC */
    live_blobs--;
    if (self->from_macro)
        PyObject_DEL(self);     /* PyObject_FREE */
    else
        PyObject_Del(self);     /* PyObject_Free() */
}

static BlobObject *
blob_create(Py_ssize_t size, int macro)
{
    BlobObject *self;

    if (macro)
        self = PyObject_NEW(BlobObject, &Blob_Type);
    else
        self = PyObject_New(BlobObject, &Blob_Type);
    if (self == NULL)
        return NULL;
    self->size = size;
    self->from_macro = macro;
    self->data = (unsigned char *)PyMem_MALLOC(size);
    if (self->data == NULL) {
        if (macro)
            PyObject_DEL(self);
        else
            PyObject_Del(self);
        PyErr_NoMemory();
        return NULL;
    }
    fill(self->data, (size_t)size, (unsigned int)size);
    live_blobs++;
    return self;
}

static PyObject *
blob_checksum(BlobObject *self, PyObject *unused)
{
    Py_ssize_t i;
    unsigned long sum = 0;

    (void)unused;
    if (!check(self->data, (size_t)self->size, (unsigned int)self->size))
        return corrupted("Blob");
    for (i = 0; i < self->size; i++)
        sum += self->data[i];
    return PyLong_FromUnsignedLong(sum);
}

static Py_ssize_t
blob_length(BlobObject *self)
{
    return self->size;
}

static PyMethodDef blob_methods[] = {
    {"checksum", (PyCFunction)blob_checksum, METH_NOARGS,
     "Sum of the bytes of the buffer, after checking them."},
    {NULL, NULL, 0, NULL}
};

static PySequenceMethods blob_as_sequence;

/* make_blob(size, macro=False) */
static PyObject *
stock_make_blob(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    int macro = 0;

    (void)self;
    if (!PyArg_ParseTuple(args, "n|i:make_blob", &size, &macro))
        return NULL;
    return (PyObject *)blob_create(size, macro);
}

/* blobs(count, size): create `count` blobs, half of them with each macro,
 * keep them in a list, check them, and drop them all. */
static PyObject *
stock_blobs(PyObject *self, PyObject *args)
{
    Py_ssize_t count, size, i;
    PyObject *list, *sum;
    BlobObject *blob;

    (void)self;
    if (!PyArg_ParseTuple(args, "nn:blobs", &count, &size))
        return NULL;
    list = PyList_New(count);
    if (list == NULL)
        return NULL;
    for (i = 0; i < count; i++) {
        blob = blob_create(size + i, (int)(i % 2));
        if (blob == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, (PyObject *)blob);
    }
    for (i = 0; i < count; i++) {
        sum = blob_checksum((BlobObject *)PyList_GET_ITEM(list, i), NULL);
        if (sum == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(sum);
    }
    Py_DECREF(list);
    return PyInt_FromSsize_t(count);
}

static PyObject *
stock_live_blobs(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyInt_FromSsize_t(live_blobs);
}


/* ==========================================================================
 * Objects built here and handed to Python
 */

/* build_list(n): [0, 1, ..., n-1] */
static PyObject *
stock_build_list(PyObject *self, PyObject *args)
{
    Py_ssize_t n, i;
    PyObject *list, *item;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:build_list", &n))
        return NULL;
    list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        item = PyInt_FromSsize_t(i);
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

/* build_string(n): n bytes "abc...zabc..." composed in a PyMem_MALLOC
 * buffer, released with PyMem_FREE. */
static PyObject *
stock_build_string(PyObject *self, PyObject *args)
{
    Py_ssize_t n, i;
    char *buf;
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:build_string", &n))
        return NULL;
    buf = (char *)PyMem_MALLOC(n);
    if (buf == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < n; i++)
        buf[i] = (char)('a' + i % 26);
    result = PyString_FromStringAndSize(buf, n);
    PyMem_FREE(buf);
    return result;
}

/* build_dict(n): {"key0": 0, "key1": [1, "1"], ...}: every odd key maps to
 * a list holding an int and a string, every even key to an int. */
static PyObject *
stock_build_dict(PyObject *self, PyObject *args)
{
    Py_ssize_t n, i;
    PyObject *dict, *value;
    char key[64];
    int res;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:build_dict", &n))
        return NULL;
    dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyOS_snprintf(key, sizeof(key), "key%ld", (long)i);
        if (i % 2)
            value = Py_BuildValue("[nN]", i, PyString_FromFormat("%ld",
                                                                 (long)i));
        else
            value = PyInt_FromSsize_t(i);
        if (value == NULL) {
            Py_DECREF(dict);
            return NULL;
        }
        res = PyDict_SetItemString(dict, key, value);
        Py_DECREF(value);
        if (res < 0) {
            Py_DECREF(dict);
            return NULL;
        }
    }
    return dict;
}

/* build_tuple(n): a tuple of n small tuples (str, unicode, float). */
static PyObject *
stock_build_tuple(PyObject *self, PyObject *args)
{
    static Py_UNICODE text[2] = {'u', 'v'};
    Py_ssize_t n, i;
    PyObject *tuple, *item;

    (void)self;
    if (!PyArg_ParseTuple(args, "n:build_tuple", &n))
        return NULL;
    tuple = PyTuple_New(n);
    if (tuple == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        item = Py_BuildValue("(su#d)", "x", text, (Py_ssize_t)2,
                             (double)i / 2.0);
        if (item == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, i, item);
    }
    return tuple;
}


/* ==========================================================================
 * Buffers the interpreter allocates and the extension frees
 */

/* encode(text): PyArg_ParseTuple's "es" and "et#" allocate the encoded
 * copies for the caller, who releases them with PyMem_Free() (as the
 * documentation says) or PyMem_FREE (inline free).  Return both. */
static PyObject *
stock_encode(PyObject *self, PyObject *args)
{
    char *a = NULL, *b = NULL;
    Py_ssize_t blen = 0;
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTuple(args, "es:encode", "utf-8", &a))
        return NULL;
    if (!PyArg_ParseTuple(args, "et#:encode", "utf-8", &b, &blen)) {
        PyMem_Free(a);
        return NULL;
    }
    result = Py_BuildValue(ENCODED_PAIR, a, b, blen);
    PyMem_Free(a);
    PyMem_FREE(b);
    return result;
}


/* ==========================================================================
 * PyMem without the GIL
 */

/* nogil_pymem(rounds, size): release the GIL, as 2.7 extensions do around
 * their work, and allocate with PyMem_Malloc() (which was malloc() in
 * stock 2.7, so many did) and the macros, mixed, in this thread.  Several
 * Python threads calling it run it concurrently.  Return rounds. */
static PyObject *
stock_nogil_pymem(PyObject *self, PyObject *args)
{
    Py_ssize_t rounds, size, i;
    unsigned char *p, *q, *r;
    int ok = 1;

    (void)self;
    if (!PyArg_ParseTuple(args, "nn:nogil_pymem", &rounds, &size))
        return NULL;
    if (size < 1) {
        PyErr_SetString(PyExc_ValueError, "size must be at least 1");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < rounds && ok; i++) {
        p = (unsigned char *)PyMem_Malloc(size);
        q = (unsigned char *)PyMem_MALLOC(size);
        if (p == NULL || q == NULL) {
            PyMem_Free(p);
            PyMem_Free(q);
            ok = 0;
            break;
        }
        fill(p, (size_t)size, (unsigned int)i);
        r = (unsigned char *)PyMem_Realloc(p, 2 * size);
        if (r == NULL) {
            PyMem_FREE(p);
            PyMem_FREE(q);
            ok = 0;
            break;
        }
        if (!check(r, (size_t)size, (unsigned int)i))
            ok = -1;
        PyMem_FREE(r);
        PyMem_Free(q);
    }
    Py_END_ALLOW_THREADS
    if (ok == 0)
        return PyErr_NoMemory();
    if (ok < 0)
        return corrupted("nogil_pymem");
    return PyInt_FromSsize_t(rounds);
}


/* ==========================================================================
 * PyOS_Readline() and a readline hook of our own
 */

static const char hook_line[] = "line from the stock hook\n";
static int hook_use_function = 0;

/* Called by PyOS_Readline() without the GIL, when both files are ttys. */
static char *
stock_readline_hook(FILE *in, FILE *out, char *prompt)
{
    char *p;

    (void)in;
    (void)out;
    (void)prompt;
    if (hook_use_function)
        p = (char *)PyMem_Malloc(sizeof(hook_line));
    else
        p = (char *)PyMem_MALLOC(sizeof(hook_line));
    if (p != NULL)
        memcpy(p, hook_line, sizeof(hook_line));
    return p;
}

/* readline(in_fd, out_fd, use_hook=0, use_function=0): one line read with
 * PyOS_Readline(), through our hook if use_hook (it is only called when
 * both descriptors are ttys), released with PyMem_FREE. */
static PyObject *
stock_readline(PyObject *self, PyObject *args)
{
    int in_fd, out_fd, use_hook = 0, use_function = 0, fd;
    FILE *in, *out;
    char *line;
    char *(*saved)(FILE *, FILE *, char *);
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTuple(args, "ii|ii:readline", &in_fd, &out_fd,
                          &use_hook, &use_function))
        return NULL;
    fd = dup(in_fd);
    in = fd < 0 ? NULL : fdopen(fd, "r");
    if (in == NULL) {
        if (fd >= 0)
            close(fd);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    fd = dup(out_fd);
    out = fd < 0 ? NULL : fdopen(fd, "w");
    if (out == NULL) {
        if (fd >= 0)
            close(fd);
        fclose(in);
        return PyErr_SetFromErrno(PyExc_OSError);
    }

    saved = PyOS_ReadlineFunctionPointer;
    if (use_hook) {
        hook_use_function = use_function;
        PyOS_ReadlineFunctionPointer = stock_readline_hook;
    }
    line = PyOS_Readline(in, out, "");
    PyOS_ReadlineFunctionPointer = saved;
    fclose(in);
    fclose(out);

    if (line == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetNone(PyExc_KeyboardInterrupt);
        return NULL;
    }
    result = PyString_FromString(line);
    PyMem_FREE(line);           /* as tokenizer.c and raw_input() do */
    return result;
}


/* ==========================================================================
 * The module
 */

static PyMethodDef stock_methods[] = {
    {"macro_expansions", stock_macro_expansions, METH_NOARGS,
     "What the allocation macros expanded to when this file was compiled."},
    {"pydebug", stock_pydebug, METH_NOARGS,
     "Whether the headers were those of a --with-pydebug build."},
    {"macro_malloc_func_free", stock_macro_malloc_func_free, METH_VARARGS,
     "PyMem_MALLOC, then PyMem_Free()."},
    {"func_malloc_macro_free", stock_func_malloc_macro_free, METH_VARARGS,
     "PyMem_Malloc(), then PyMem_FREE."},
    {"zero_sizes", stock_zero_sizes, METH_NOARGS,
     "PyMem_MALLOC(0) and PyMem_Malloc(0), released by the other family."},
    {"new_resize_del", stock_new_resize_del, METH_VARARGS,
     "PyMem_NEW, PyMem_RESIZE/PyMem_Resize, PyMem_DEL; the sum 0+...+n-1."},
    {"new_del_mixed", stock_new_del_mixed, METH_VARARGS,
     "PyMem_New/PyMem_DEL and PyMem_NEW/PyMem_Del."},
    {"realloc_grow", stock_realloc_grow, METH_VARARGS,
     "A buffer grown by doubling, returned as a string of n bytes."},
    {"free_behind_back", stock_free_behind_back, METH_VARARGS,
     "PyMem_Malloc(), free(), PyMem_Malloc() again; (True, same address)."},
    {"hold", stock_hold, METH_VARARGS,
     "hold(slot, n, macro): keep a PyMem_MALLOC/PyMem_Malloc block."},
    {"release", stock_release, METH_VARARGS,
     "release(slot): free a held block with the other family."},
    {"object_malloc_free", stock_object_malloc_free, METH_VARARGS,
     "PyObject_MALLOC, PyObject_REALLOC, PyObject_FREE."},
    {"make_blob", stock_make_blob, METH_VARARGS,
     "make_blob(size, macro=False): a Blob from PyObject_New/PyObject_NEW."},
    {"blobs", stock_blobs, METH_VARARGS,
     "blobs(count, size): create, check and drop count Blobs."},
    {"live_blobs", stock_live_blobs, METH_NOARGS,
     "How many Blobs exist."},
    {"build_list", stock_build_list, METH_VARARGS, "[0, ..., n-1]"},
    {"build_string", stock_build_string, METH_VARARGS, "'abc...' of n bytes"},
    {"build_dict", stock_build_dict, METH_VARARGS, "{'key0': 0, ...}"},
    {"build_tuple", stock_build_tuple, METH_VARARGS,
     "n tuples ('x', u'uv', i / 2.0)"},
    {"encode", stock_encode, METH_VARARGS,
     "encode(text): (text encoded by \"es\", text encoded by \"et#\")."},
    {"nogil_pymem", stock_nogil_pymem, METH_VARARGS,
     "nogil_pymem(rounds, size): PyMem calls with the GIL released."},
    {"readline", stock_readline, METH_VARARGS,
     "readline(in_fd, out_fd, use_hook=0, use_function=0): PyOS_Readline()."},
    {NULL, NULL, 0, NULL}
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef stock_module = {
    PyModuleDef_HEAD_INIT, "_stockext",
    "Allocations of a stock-built 3.3 extension.", -1, stock_methods,
    NULL, NULL, NULL, NULL
};
#  define INIT_RETURN(m) return (m)

PyMODINIT_FUNC
PyInit__stockext(void)
#else
#  define INIT_RETURN(m) return

PyMODINIT_FUNC
init_stockext(void)
#endif
{
    PyObject *module;

    /* Filled in at run time rather than with a positional initializer of
       the whole PyTypeObject, which -Wextra would flag. */
    Py_REFCNT(&Blob_Type) = 1;
    Blob_Type.tp_name = "_stockext.Blob";
    Blob_Type.tp_basicsize = sizeof(BlobObject);
    Blob_Type.tp_dealloc = (destructor)blob_dealloc;
    Blob_Type.tp_flags = Py_TPFLAGS_DEFAULT;
    Blob_Type.tp_doc = "A buffer made by _stockext.make_blob().";
    Blob_Type.tp_methods = blob_methods;
    blob_as_sequence.sq_length = (lenfunc)blob_length;
    Blob_Type.tp_as_sequence = &blob_as_sequence;
    if (PyType_Ready(&Blob_Type) < 0)
        INIT_RETURN(NULL);

#if PY_MAJOR_VERSION >= 3
    module = PyModule_Create(&stock_module);
#else
    module = Py_InitModule3("_stockext", stock_methods,
                            "Allocations of a stock-built 2.7 extension.");
#endif
    if (module == NULL)
        INIT_RETURN(NULL);
    Py_INCREF(&Blob_Type);
    PyModule_AddObject(module, "Blob", (PyObject *)&Blob_Type);
    INIT_RETURN(module);
}
