"""Opt-in use of the modules of Debian's python2.7 (PEP445_DIST_PACKAGES=1).

pep445-dist-packages.pth imports this module at startup when
PEP445_DIST_PACKAGES=1 and -E is not given.  It appends
/usr/lib/python2.7/dist-packages to sys.path, after everything else, as
site.addsitedir() does (so its .pth files are read), and lets its C
extensions be imported: Debian names them NAME.<multiarch triplet>.so,
which the upstream 2.7.18 interpreter does not look for.  They are built
against Debian's python2.7, whose ABI this interpreter keeps.
"""
import imp
import os
import pkgutil
import site
import sys
import sysconfig

DIST_PACKAGES = '/usr/lib/python2.7/dist-packages'
EXTENSION_SUFFIX = '.%s.so' % sysconfig.get_config_var('MULTIARCH')


class DebianImporter(pkgutil.ImpImporter):
    """The importer of a directory under DIST_PACKAGES: NAME.<triplet>.so
    first, then what the interpreter itself would find there."""

    def find_module(self, fullname, path=None):
        name = fullname.rpartition('.')[2]
        filename = os.path.join(self.path, name + EXTENSION_SUFFIX)
        if os.path.isfile(filename):
            return ExtensionLoader(filename)
        return pkgutil.ImpImporter.find_module(self, fullname, path)


class ExtensionLoader(object):
    def __init__(self, filename):
        self.filename = filename

    def load_module(self, fullname):
        if fullname in sys.modules:
            return sys.modules[fullname]
        return imp.load_dynamic(fullname, self.filename)


def debian_path_hook(entry):
    if entry == DIST_PACKAGES or entry.startswith(DIST_PACKAGES + os.sep):
        return DebianImporter(entry)
    raise ImportError(entry)


if not sys.flags.ignore_environment:
    sys.path_hooks.insert(0, debian_path_hook)
    sys.path_importer_cache.clear()
    site.addsitedir(DIST_PACKAGES)
