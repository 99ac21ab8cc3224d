from distutils.core import setup, Extension

setup(name='owntracks', ext_modules=[Extension('owntracks', ['owntracks.c'])])
