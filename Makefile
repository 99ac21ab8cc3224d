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

PYTHON         := $(PREFIX)/bin/python$(PY_SERIES)
STOCK_PYTHON   := $(STOCK_PREFIX)/bin/python$(PY_SERIES)
LIBDIR         := $(PREFIX)/lib/python$(PY_SERIES)

# The flags of the Linux distributions: UCS-4 unicode (2.x), computed gotos,
# the system's expat and libffi, a shared libpython (the ABI we compare).
CONFIGURE_FLAGS := --enable-shared --with-computed-gotos \
	--with-system-expat --with-system-ffi --without-ensurepip \
	$(if $(filter 2.%,$(PY_SERIES)),--enable-unicode=ucs4) \
	$(if $(variant),--with-pydebug)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all interpreter module stock check check-quick bench deb deps \
	regrtest clean distclean

all: interpreter module

interpreter: $(PREFIX)/.stamp-installed
module: $(PREFIX)/.stamp-module
stock: $(STOCK_PREFIX)/.stamp-installed

deps:
	scripts/install-build-deps.sh

# ---- the patched interpreter ---------------------------------------------

$(PATCHED_SRC)/.stamp-source: scripts/fetch-source.sh
	scripts/install-build-deps.sh
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
		LDFLAGS=-Wl,-rpath,$(PREFIX)/lib
	touch $@

$(PATCHED_SRC)/.stamp-built: $(PATCHED_SRC)/.stamp-configured
	$(MAKE) -C $(PATCHED_SRC) -j$(JOBS)
	touch $@

$(PREFIX)/.stamp-installed: $(PATCHED_SRC)/.stamp-built
	$(MAKE) -C $(PATCHED_SRC) install
	touch $@

# ---- the tracemalloc module, installed where the interpreter finds it
# ---- before site is imported (lib-dynload), for -X tracemalloc

MODULE_BUILD := $(WORK)/module-$(PYTHON_VERSION)$(variant)

$(PREFIX)/.stamp-module: $(PREFIX)/.stamp-installed $(wildcard backport/*.[ch] backport/*.py)
	rm -rf $(MODULE_BUILD)
	cd backport && $(PYTHON) setup.py -q build_ext \
		--build-temp $(MODULE_BUILD)/temp --build-lib $(MODULE_BUILD)/lib
	install -m 755 $(MODULE_BUILD)/lib/_tracemalloc.so $(LIBDIR)/lib-dynload/
	install -m 644 backport/tracemalloc.py $(LIBDIR)/
	install -m 644 backport/pytracemalloc.h $(PREFIX)/include/python$(PY_SERIES)/
	touch $@

# ---- the stock interpreter, same flags, for comparisons ------------------

$(STOCK_SRC)/.stamp-source: scripts/fetch-source.sh
	scripts/install-build-deps.sh
	rm -rf $(STOCK_SRC)
	mkdir -p $(WORK)
	scripts/fetch-source.sh --base $(BASE) $(PYTHON_VERSION) $(STOCK_SRC)
	touch $@

$(STOCK_SRC)/.stamp-configured: $(STOCK_SRC)/.stamp-source
	cd $(STOCK_SRC) && ./configure --prefix=$(STOCK_PREFIX) $(CONFIGURE_FLAGS) \
		LDFLAGS=-Wl,-rpath,$(STOCK_PREFIX)/lib
	touch $@

$(STOCK_SRC)/.stamp-built: $(STOCK_SRC)/.stamp-configured
	$(MAKE) -C $(STOCK_SRC) -j$(JOBS)
	touch $@

$(STOCK_PREFIX)/.stamp-installed: $(STOCK_SRC)/.stamp-built
	$(MAKE) -C $(STOCK_SRC) install
	touch $@

# ---- tests ---------------------------------------------------------------

check: all stock
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
