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
# SOURCE33: the 3.3.7 source of `make check33` (and of the 3.3 group of
# `make check`), which is never downloaded.
SOURCE33       ?=
export DOWNLOADS SOURCE SOURCE33

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

.PHONY: all interpreter module stock check check33 bench deb deps \
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
# The interpreter's headers: include/python2.7, or for 3.x with its ABI
# flags, include/python3.3m (pymalloc) or python3.3dm (--with-pydebug).
INCLUDEPY    := $(INSTALLED)/include/python$(PY_SERIES)$(if $(filter \
	3.%,$(PY_SERIES)),$(if $(variant),d)m)

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
	install -m 755 $(MODULE_BUILD)/lib/_tracemalloc*.so $(DESTDIR)$(LIBDIR)/lib-dynload/
	install -m 644 $(addprefix backport/,$(PY_MODULES)) $(DESTDIR)$(LIBDIR)/
	install -m 644 backport/tracemalloc-snapshots.pth $(DESTDIR)$(LIBDIR)/site-packages/
	install -d $(DESTDIR)$(REPORT_SHARE)
	install -m 644 $(addprefix backport/,$(REPORT_MODULES)) $(DESTDIR)$(REPORT_SHARE)/
	printf '#!%s\nimport sys\nfrom tracemalloc_report import main\nsys.exit(main())\n' \
		$(PYTHON) >$(INSTALLED)/bin/tracemalloc-report
	chmod 755 $(INSTALLED)/bin/tracemalloc-report
	install -m 644 backport/pytracemalloc.h $(INCLUDEPY)/
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

# The 3.3.7 suite (also a group of `make check`): patched and stock 3.3.7
# built from SOURCE33 or the download cache, then `make check` on them;
# without a source, one skipped test that says so.
check33:
	PYDEBUG=$(PYDEBUG) tests/check33.sh

# CPython's regression suite, stock and patched, compared (slow).  3.3.7 on
# bookworm, stock as well as patched: test_faulthandler's stack overflow test
# never returns (gcc 12 turns the recursion into a loop) and
# test_multiprocessing hangs in its connection pickling test (glibc's
# reserved signals 32 and 33 make pthread_sigmask() fail in the resource
# sharer thread); they are left out.  Empty: compare.sh's default, -j2.
REGRTEST_ARGS ?= $(if $(filter 3.3,$(PY_SERIES)),-j2 --timeout=1800 \
	-x test_faulthandler test_multiprocessing)
export REGRTEST_ARGS
regrtest: all stock
	tests/regrtest/compare.sh $(STOCK_PYTHON) $(PYTHON) \
		tests/regrtest/$(PYTHON_VERSION)$(variant).txt

# ---- benchmarks ----------------------------------------------------------
# bench/runner.py: stock vs patched 2.7 and tracing off, 1 and 25 frames,
# next to python3's own tracemalloc (and a patched 3.3 if built):
# instructions (callgrind), CPU time, peak RSS, memory per traced block,
# snapshot times; the goals marked PASS/FAIL.  Writes build/bench/results.*
# and the README's table ("Speed and memory").  Needs valgrind.
# BENCH_SCALE multiplies the iterations of the callgrind runs,
# BENCH_TIME_SCALE those of the timed runs (default 5 x BENCH_SCALE).

BENCH_SCALE      ?= 1
BENCH_TIME_SCALE ?=
BENCH_RUNS       ?= 5
BENCH_JOBS       ?= 2
BENCH_PYTHON3    ?= python3
BENCH_ARGS       ?=
BENCH_RUNNER     ?= $(or $(shell command -v python3 2>/dev/null),$(PYTHON))

bench: all stock
	@test "$(PY_SERIES)$(variant)" = 2.7 || { echo "make bench:" \
		"measures the 2.7 release build (PYTHON_VERSION=2.7.x, no PYDEBUG)" >&2; exit 1; }
	$(BENCH_RUNNER) bench/runner.py --python $(PYTHON) \
		--stock-python $(STOCK_PYTHON) --python3 "$(BENCH_PYTHON3)" \
		--scale $(BENCH_SCALE) $(if $(BENCH_TIME_SCALE),--time-scale $(BENCH_TIME_SCALE)) \
		--runs $(BENCH_RUNS) --jobs $(BENCH_JOBS) \
		--output $(CURDIR)/build/bench $(BENCH_ARGS)

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
# Heavy checks: the regression suite under tracing, stress, fault injection,
# sanitizers, valgrind, fuzzing, a soak test.  None is part of `make check`,
# which runs a short version of the stress, fault and fuzz tests
# (tests/stress/quick.sh).  Run one at a time on a shared machine; README.md
# ("Hardening") gives what each checks and how long it takes.
#
#   regrtest-traced   CPython's suite, stock vs patched run with
#                     PYTHONTRACEMALLOC=1 then =25 (regrtest-traced1/-traced25)
#   regrtest-dbg      `make regrtest` on --with-pydebug builds
#   stress            threads, fork() and signals (STRESS_SECONDS in all)
#   faults            every allocation failed in turn, under the tracer
#   asan              the patched interpreter and the module built with
#                     AddressSanitizer and UBSan, into ASAN_PREFIX
#   check-asan        module, stress and fault tests on that build
#   check-valgrind    module tests under valgrind memcheck
#   fuzz              libFuzzer: trace table, traceback store, snapshot loader
#                     (FUZZ_SECONDS each)
#   soak              the example service traced under load (SOAK_SECONDS)

STRESS_SECONDS ?= 300
FUZZ_SECONDS   ?= 60
SOAK_SECONDS   ?= 600
# The sanitizer build: a source tree, a prefix and a module build of its own.
# ASAN_OPT replaces configure's -O3 (faster to build, clearer reports; CPython
# needs -fwrapv); ASAN_CFLAGS and ASAN_LDFLAGS reach configure, and so the
# interpreter, its modules and extensions built with it.  The interpreter
# leaks by design at exit: LeakSanitizer is off for the build and the tests.
ASAN_PREFIX    ?= $(CURDIR)/build/python$(PY_SERIES)-asan
ASAN_SRC       := $(WORK)/patched-$(PYTHON_VERSION)-asan
ASAN_OPT       ?= -g -O1 -fwrapv
ASAN_CFLAGS    ?= -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_LDFLAGS   ?= -fsanitize=address,undefined
ASAN_PYTHON    := $(ASAN_PREFIX)/bin/python$(PY_SERIES)

.PHONY: regrtest-traced regrtest-traced1 regrtest-traced25 regrtest-dbg \
	stress faults asan check-asan check-valgrind fuzz soak

regrtest-traced: regrtest-traced1 regrtest-traced25

regrtest-traced1 regrtest-traced25: regrtest-traced%: all stock
	REGRTEST_ENV=PYTHONTRACEMALLOC=$* tests/regrtest/compare.sh \
		$(STOCK_PYTHON) $(PYTHON) \
		tests/regrtest/$(PYTHON_VERSION)$(variant)-traced$*.txt

regrtest-dbg:
	$(MAKE) PYDEBUG=yes regrtest

stress: all
	$(PYTHON) tests/stress/stress.py --seconds $(STRESS_SECONDS)

faults: all
	$(PYTHON) tests/stress/faults.py

# The flags go in the environment, where configure finds them: on make's
# command line they would also override the variables of CPython's own
# Makefile (its CFLAGS, which hold -fwrapv, and its LDFLAGS, the rpath).
asan:
	ASAN_OPTIONS=detect_leaks=0 OPT="$(ASAN_OPT)" CFLAGS="$(ASAN_CFLAGS)" \
		LDFLAGS="$(ASAN_LDFLAGS)" $(MAKE) PREFIX=$(ASAN_PREFIX) \
		PATCHED_SRC=$(ASAN_SRC) \
		MODULE_BUILD=$(WORK)/module-$(PYTHON_VERSION)-asan \
		interpreter module

check-asan: asan
	PYTHON=$(ASAN_PYTHON) tests/sanitizers/run-asan.sh

check-valgrind: all
	PYTHON=$(PYTHON) tests/sanitizers/run-valgrind.sh

fuzz: all
	PYTHON=$(PYTHON) ASAN_PYTHON=$(ASAN_PYTHON) tests/fuzz/run.sh $(FUZZ_SECONDS)

soak: all
	$(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS)
# ---- end of Hardening --------------------------------------------------------
