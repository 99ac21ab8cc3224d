"""Build the _tracemalloc extension module (PEP 454 backport).

It needs an interpreter patched with the PEP 445 backport (its pymem.h
defines Py_PEP445_BACKPORT).  With that interpreter:

    python setup.py build
    python setup.py install
    python path/to/setup.py build_ext --build-lib DIR     (from anywhere)

pytracemalloc.h, for extensions that trace their own memory, is installed
with the interpreter's headers (install_headers).
"""

import os
import sys
from distutils import sysconfig
from distutils.core import setup, Extension

HERE = os.path.dirname(os.path.abspath(__file__))


def local_path(name):
    """Path of a file next to this script, relative to the current
    directory when possible (distutils mirrors source paths under its
    build directory)."""
    path = os.path.join(HERE, name)
    relative = os.path.relpath(path)
    if relative.startswith(os.pardir):
        return path
    return relative


NEEDS_PEP445 = ('_tracemalloc needs a Python interpreter patched with the '
                'PEP 445 backport of tracemalloc-backport')


def check_interpreter():
    pymem_h = os.path.join(sysconfig.get_python_inc(), 'pymem.h')
    try:
        with open(pymem_h) as f:
            patched = 'Py_PEP445_BACKPORT' in f.read()
    except IOError:
        # no headers: let the compiler say so
        return
    if not patched:
        sys.exit('error: %s (%s has no Py_PEP445_BACKPORT)'
                 % (NEEDS_PEP445, pymem_h))


if any(arg.startswith(('build', 'install', 'bdist'))
       for arg in sys.argv[1:]):
    check_interpreter()

headers = [local_path(name) for name in ('pytracemalloc.h',
                                          'tracemalloc_tables.h',
                                          'tracemalloc_tracebacks.h')]

setup(
    name='tracemalloc',
    version='1.0',
    description='Trace memory blocks allocated by Python (PEP 454 backport)',
    license='PSF',
    ext_modules=[
        Extension(
            '_tracemalloc',
            sources=[local_path(name) for name in ('_tracemalloc.c',
                                                    'tracemalloc_tables.c',
                                                    'tracemalloc_tracebacks.c')],
            depends=headers,
            include_dirs=[HERE],
        ),
    ],
    headers=[local_path('pytracemalloc.h')],
)
