# tracemalloc-backport: a PEP 445 interpreter and the tracemalloc module.
#
# Stages, each with a stamp file so that it is redone only when needed:
#   source -> patched -> configured -> built -> installed -> module
# for the patched interpreter, and source -> configured -> built -> installed
# for the stock one (`make stock`), built with identical flags.

PYTHON_VERSION ?= 2.7.18
PY_SERIES      := $(basename $(PYTHON_VERSION))
PYDEBUG        ?=
BASE           ?= upstream
DOWNLOADS      ?= $(CURDIR)/downloads
export DOWNLOADS SOURCE

variant        := $(if $(filter yes,$(PYDEBUG)),-dbg)
PREFIX         ?= $(CURDIR)/build/python$(PY_SERIES)$(variant)
STOCK_PREFIX   ?= $(CURDIR)/build/python$(PY_SERIES)-stock$(variant)
WORK           := $(CURDIR)/build/work
PATCHED_SRC    := $(WORK)/patched-$(PYTHON_VERSION)$(variant)
STOCK_SRC      := $(WORK)/stock-$(PYTHON_VERSION)$(variant)
SERIES_DIR     := $(CURDIR)/patches/$(PY_SERIES)
PATCHES        := $(SERIES_DIR)/series $(wildcard $(SERIES_DIR)/*.patch)
# A version that does not build with today's compilers as released (3.3.7)
# has a second series, series-stock: the build fixes that the stock
# interpreter gets too, and nothing else.  None for 2.7.
STOCK_SERIES   := $(wildcard $(SERIES_DIR)/series-stock)
STOCK_PATCHES  := $(if $(STOCK_SERIES),$(STOCK_SERIES) $(addprefix \
	$(SERIES_DIR)/,$(shell sed -e 's/\#.*//' $(STOCK_SERIES))))

PYTHON         := $(PREFIX)/bin/python$(PY_SERIES)
STOCK_PYTHON   := $(STOCK_PREFIX)/bin/python$(PY_SERIES)
LIBDIR         := $(PREFIX)/lib/python$(PY_SERIES)

# The flags of the Linux distributions: UCS-4 unicode (2.x), computed gotos,
# the system's expat and libffi, a shared libpython (the ABI we compare);
# no ensurepip (which 3.3 does not have).
CONFIGURE_FLAGS := --enable-shared --with-computed-gotos \
	--with-system-expat --with-system-ffi \
	$(if $(filter 3.3,$(PY_SERIES)),,--without-ensurepip) \
	$(if $(filter 2.%,$(PY_SERIES)),--enable-unicode=ucs4) \
	$(if $(variant),--with-pydebug)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# The install stages write into $(DESTDIR)$(PREFIX) (a staging directory,
# e.g. debian/tmp); the installed interpreter expects to run from $(PREFIX).
DESTDIR        ?=
INSTALLED      := $(DESTDIR)$(PREFIX)
# What installs missing build packages first; empty: nothing (debian/rules,
# whose Build-Depends dpkg-buildpackage has checked).
INSTALL_DEPS   ?= scripts/install-build-deps.sh

.PHONY: all interpreter module stock check check-quick bench deb deps \
	repo check-deb rebuild-debian-python \
	regrtest clean distclean

all: interpreter module

interpreter: $(INSTALLED)/.stamp-installed
module: $(INSTALLED)/.stamp-module
stock: $(STOCK_PREFIX)/.stamp-installed

deps:
	scripts/install-build-deps.sh

# ---- the patched interpreter ---------------------------------------------

$(PATCHED_SRC)/.stamp-source: scripts/fetch-source.sh
	$(INSTALL_DEPS)
	rm -rf $(PATCHED_SRC)
	mkdir -p $(WORK)
	scripts/fetch-source.sh --base $(BASE) $(PYTHON_VERSION) $(PATCHED_SRC)
	touch $@

# A changed series is applied to a fresh source tree.
$(PATCHED_SRC)/.stamp-patched: $(PATCHED_SRC)/.stamp-source $(PATCHES)
	if [ -f $@ ]; then rm -rf $(PATCHED_SRC) && $(MAKE) $(PATCHED_SRC)/.stamp-source; fi
	cd $(PATCHED_SRC) && QUILT_PATCHES=$(SERIES_DIR) QUILT_PC=.pc-pep445 \
		quilt --quiltrc=/dev/null push -a -q
	touch $@

$(PATCHED_SRC)/.stamp-configured: $(PATCHED_SRC)/.stamp-patched
	cd $(PATCHED_SRC) && ./configure --prefix=$(PREFIX) $(CONFIGURE_FLAGS) \
		LDFLAGS="$(LDFLAGS) -Wl,-rpath,$(PREFIX)/lib"
	touch $@

$(PATCHED_SRC)/.stamp-built: $(PATCHED_SRC)/.stamp-configured
	$(MAKE) -C $(PATCHED_SRC) -j$(JOBS)
	touch $@

$(INSTALLED)/.stamp-installed: $(PATCHED_SRC)/.stamp-built
	$(MAKE) -C $(PATCHED_SRC) install DESTDIR=$(DESTDIR)
	touch $@

# ---- the tracemalloc module, installed where the interpreter finds it
# ---- before site is imported (lib-dynload), for -X tracemalloc

MODULE_BUILD := $(WORK)/module-$(PYTHON_VERSION)$(variant)
# With a DESTDIR, the interpreter that builds the module is the staged one,
# whose libpython is not in $(PREFIX)/lib yet.
STAGED_LIB   := $(if $(DESTDIR),$(INSTALLED)/lib)

# The Python half: tracemalloc.py, the snapshot file format, the snapshot
# service and the .pth file that starts it when TRACEMALLOC_SNAPSHOT_DIR is
# set, and the tracemalloc-report command.  The report's modules are also
# copied to share/tracemalloc-report for Python 3 (PYTHONPATH=that python3
# -m tracemalloc_report): lib/python2.7 would shadow Python 3's stdlib.
PY_MODULES     := tracemalloc.py tracemalloc_snapshot_file.py \
	tracemalloc_snapshot_service.py tracemalloc_report.py \
	tracemalloc_report_html.py
REPORT_MODULES := tracemalloc_snapshot_file.py tracemalloc_report.py \
	tracemalloc_report_html.py
REPORT_SHARE   := $(PREFIX)/share/tracemalloc-report

$(INSTALLED)/.stamp-module: $(INSTALLED)/.stamp-installed $(wildcard backport/*.[ch] backport/*.py backport/*.pth)
	rm -rf $(MODULE_BUILD)
	cd backport && $(if $(STAGED_LIB),LD_LIBRARY_PATH=$(STAGED_LIB)) \
		$(DESTDIR)$(PYTHON) setup.py -q build_ext $(if $(STAGED_LIB),-L $(STAGED_LIB)) \
		--build-temp $(MODULE_BUILD)/temp --build-lib $(MODULE_BUILD)/lib
	install -m 755 $(MODULE_BUILD)/lib/_tracemalloc.so $(DESTDIR)$(LIBDIR)/lib-dynload/
	install -m 644 $(addprefix backport/,$(PY_MODULES)) $(DESTDIR)$(LIBDIR)/
	install -m 644 backport/tracemalloc-snapshots.pth $(DESTDIR)$(LIBDIR)/site-packages/
	install -d $(DESTDIR)$(REPORT_SHARE)
	install -m 644 $(addprefix backport/,$(REPORT_MODULES)) $(DESTDIR)$(REPORT_SHARE)/
	printf '#!%s\nimport sys\nfrom tracemalloc_report import main\nsys.exit(main())\n' \
		$(PYTHON) >$(INSTALLED)/bin/tracemalloc-report
	chmod 755 $(INSTALLED)/bin/tracemalloc-report
	install -m 644 backport/pytracemalloc.h $(INSTALLED)/include/python$(PY_SERIES)/
	touch $@

# ---- the stock interpreter, same flags, for comparisons ------------------

$(STOCK_SRC)/.stamp-source: scripts/fetch-source.sh
	$(INSTALL_DEPS)
	rm -rf $(STOCK_SRC)
	mkdir -p $(WORK)
	scripts/fetch-source.sh --base $(BASE) $(PYTHON_VERSION) $(STOCK_SRC)
	touch $@

# Only with a series-stock: its build fixes, on a fresh source tree.
$(STOCK_SRC)/.stamp-patched: $(STOCK_SRC)/.stamp-source $(STOCK_PATCHES)
	if [ -f $@ ]; then rm -rf $(STOCK_SRC) && $(MAKE) $(STOCK_SRC)/.stamp-source; fi
	cd $(STOCK_SRC) && QUILT_PATCHES=$(SERIES_DIR) QUILT_SERIES=series-stock \
		QUILT_PC=.pc-stock quilt --quiltrc=/dev/null push -a -q
	touch $@

$(STOCK_SRC)/.stamp-configured: $(STOCK_SRC)/.stamp-$(if $(STOCK_SERIES),patched,source)
	cd $(STOCK_SRC) && ./configure --prefix=$(STOCK_PREFIX) $(CONFIGURE_FLAGS) \
		LDFLAGS="$(LDFLAGS) -Wl,-rpath,$(STOCK_PREFIX)/lib"
	touch $@

$(STOCK_SRC)/.stamp-built: $(STOCK_SRC)/.stamp-configured
	$(MAKE) -C $(STOCK_SRC) -j$(JOBS)
	touch $@

$(STOCK_PREFIX)/.stamp-installed: $(STOCK_SRC)/.stamp-built
	$(MAKE) -C $(STOCK_SRC) install
	touch $@

# ---- tests ---------------------------------------------------------------

check: all stock
	$(if $(INSTALL_DEPS),$(INSTALL_DEPS) --tests)
	PYTHON=$(PYTHON) STOCK_PYTHON=$(STOCK_PYTHON) \
	PATCHED_SRC=$(PATCHED_SRC) STOCK_SRC=$(STOCK_SRC) \
	PYTHON_VERSION=$(PYTHON_VERSION) tests/run-tests.sh

# CPython's regression suite, stock and patched, compared (slow).
regrtest: all stock
	tests/regrtest/compare.sh $(STOCK_PYTHON) $(PYTHON) \
		tests/regrtest/$(PYTHON_VERSION)$(variant).txt

clean:
	rm -rf $(WORK)

distclean: clean
	rm -rf build $(DOWNLOADS)

# ---- Debian packaging ------------------------------------------------------
# debian/ is the source package python2.7-pep445.  `make deb` assembles its
# orig tarballs in build/deb/: this tree as git sees it (tracked files and
# untracked ones not ignored) without debian/, and the pristine
# Python-2.7.18.tgz as the component cpython (dpkg-source allows no dot
# in component names, so not python2.7).  It makes the source package,
# unpacks it afresh, builds the binary packages from it (offline) and runs
# lintian on both (build/deb/lintian.txt).  `make repo` and `make check-deb`
# use the packages of the last `make deb` (made if there are none): an apt
# repository of them, and tests in bookworm and bullseye chroots.
# `make rebuild-debian-python`: Debian's python2.7 with our series (slow).

DEB_DIR      := $(CURDIR)/build/deb
DEB_SOURCE    = $(shell dpkg-parsechangelog -S Source)
DEB_VERSION   = $(shell dpkg-parsechangelog -S Version)
DEB_UPSTREAM  = $(shell dpkg-parsechangelog -S Version | sed 's/-[^-]*$$//')
DEB_TREE      = $(DEB_DIR)/$(DEB_SOURCE)-$(DEB_UPSTREAM)
DEB_ORIG      = $(DEB_DIR)/$(DEB_SOURCE)_$(DEB_UPSTREAM).orig
# the pristine tarball: from the download cache, else the last make deb's
PY_TGZ        = $(firstword $(wildcard $(DOWNLOADS)/python2.7_2.7.18.orig.tar.gz \
	$(DOWNLOADS)/Python-2.7.18.tgz $(DEB_ORIG)-cpython.tar.gz))
GIT_FILES     = git ls-files -z --cached --others --exclude-standard

deb:
	@test -n "$(PY_TGZ)" || { echo "make deb: needs $(DOWNLOADS)/Python-2.7.18.tgz" \
		"(or python2.7_2.7.18.orig.tar.gz, the same file)" >&2; exit 1; }
	mkdir -p $(DEB_DIR)
	cd $(DEB_DIR) && rm -rf $(DEB_TREE) *.deb *.changes *.buildinfo *.dsc \
		*.debian.tar.* $(DEB_ORIG).tar.gz lintian.txt .stamp-deb
	$(GIT_FILES) -- . ':!debian' | tar -c --null -T - --ignore-failed-read \
		--sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@$$(dpkg-parsechangelog -S Timestamp) \
		--transform 's,^,$(notdir $(DEB_TREE))/,S' | gzip -9n >$(DEB_ORIG).tar.gz
	[ $(PY_TGZ) = $(DEB_ORIG)-cpython.tar.gz ] || cp $(PY_TGZ) $(DEB_ORIG)-cpython.tar.gz
	tar -C $(DEB_DIR) -xzf $(DEB_ORIG).tar.gz
	SOURCE=$(DEB_ORIG)-cpython.tar.gz scripts/fetch-source.sh 2.7.18 $(DEB_TREE)/cpython
	$(GIT_FILES) debian | tar -c --null -T - | tar -C $(DEB_TREE) -x
	cd $(DEB_DIR) && dpkg-source -b $(notdir $(DEB_TREE)) && rm -rf $(DEB_TREE) && \
		dpkg-source -x $(DEB_SOURCE)_$(DEB_VERSION).dsc
	cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b
	cd $(DEB_DIR) && lintian --display-info --pedantic --fail-on error,warning \
		*.dsc *.changes >lintian.txt; rc=$$?; cat lintian.txt; exit $$rc
	touch $(DEB_DIR)/.stamp-deb

$(DEB_DIR)/.stamp-deb:
	$(MAKE) deb

repo: | $(DEB_DIR)/.stamp-deb
	scripts/make-local-repo.sh $(DEB_DIR) $(DEB_DIR)/repo

check-deb: repo
	scripts/check-deb.sh bookworm
	scripts/check-deb.sh bullseye

rebuild-debian-python:
	scripts/rebuild-debian-python2.7.sh
# ---- end of Debian packaging -------------------------------------------------

# ---- Hardening ---------------------------------------------------------------
# Heavy checks, none of them part of `make check` (which runs a short version
# of the stress, fault injection and fuzzing tests: tests/hardening-quick.sh).
# One at a time on a shared machine: each takes minutes to hours (README.md,
# "Hardening").
#
#   regrtest-traced      CPython's suite, stock vs patched with
#                        PYTHONTRACEMALLOC=1 and =25 (two runs)
#   regrtest-dbg         the same as `make regrtest`, --with-pydebug builds
#   stress               tests/stress: threads, fork, signals (STRESS_SECONDS)
#   faults               tests/stress: allocator failures swept under the tracer
#   asan                 the patched interpreter and module built with
#                        -fsanitize=address,undefined into $(ASAN_PREFIX)
#   check-asan           module tests and stress tests on that build
#   check-valgrind       module tests under valgrind memcheck
#   fuzz                 libFuzzer on the trace table and the snapshot loader
#                        (FUZZ_SECONDS each)
#   soak                 the example service traced under load (SOAK_SECONDS)

STRESS_SECONDS ?= 300
FUZZ_SECONDS   ?= 60
SOAK_SECONDS   ?= 600
# The sanitizer build: its own source tree, prefix and module build.
ASAN_PREFIX    ?= $(CURDIR)/build/python$(PY_SERIES)-asan
ASAN_CFLAGS    ?= -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=address
ASAN_LDFLAGS   ?= -fsanitize=address,undefined
ASAN_PYTHON    := $(ASAN_PREFIX)/bin/python$(PY_SERIES)
HARDENING_ENV   = PYTHON=$(PYTHON) STOCK_PYTHON=$(STOCK_PYTHON) \
	ASAN_PYTHON=$(ASAN_PYTHON) PYTHON_VERSION=$(PYTHON_VERSION)

.PHONY: regrtest-traced regrtest-traced1 regrtest-traced25 regrtest-dbg \
	stress faults asan check-asan check-valgrind fuzz soak

regrtest-traced: regrtest-traced1 regrtest-traced25

regrtest-traced1 regrtest-traced25: regrtest-traced%: all stock
	REGRTEST_ENV=PYTHONTRACEMALLOC=$* tests/regrtest/compare.sh \
		$(STOCK_PYTHON) $(PYTHON) \
		tests/regrtest/$(PYTHON_VERSION)$(variant)-traced$*.txt

regrtest-dbg:
	$(MAKE) PYDEBUG=yes regrtest
