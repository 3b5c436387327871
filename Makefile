# SPDX-License-Identifier: GPL-2.0
# bootseal: kernel module + helper. This Makefile is for humans; kbuild reads Kbuild.
#
#   make             build bootseal.ko (against KDIR) and the bootseal helper
#   make deps        install build and test dependencies (Debian packages)
#   make check       deps + build + unit tests + fuzzers (briefly) + VM tests on 6.1 and 6.12
#   make demo        the whole flow in a VM with a fake Compute Module 3
#   make help        every target

PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share/bootseal
CC        ?= cc
CLANG     ?= clang
PKG_CONFIG ?= pkg-config

# The kernel to build against: the running kernel's build tree when it exists,
# else the newest installed Debian linux-headers-*-amd64.
KDIR ?= $(shell if [ -d /lib/modules/$$(uname -r)/build ]; then echo /lib/modules/$$(uname -r)/build; \
	else ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | grep -v -- -rt- | sort -V | tail -n 1; fi)
# Every installed Debian kernel with headers: the module is built for each (build/kmod/<release>/).
KERNELS ?= $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sed 's,.*/linux-headers-,,' | sort -V)

VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

PKGS      := libnl-genl-3.0 libnl-3.0 libusb-1.0 libudev liblzma zlib libzstd libarchive libcrypto libxml-2.0 libcurl devmapper libsystemd
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lbz2 -lpthread

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
US_CPPFLAGS = -D_GNU_SOURCE -I. -Iuserspace -DBOOTSEAL_VERSION='"$(VERSION)"' \
	      -DBOOTSEAL_DATADIR='"$(DATADIR)"' $(PKG_CFLAGS)
CFLAGS    ?= -O2 -g
US_CFLAGS  = -std=gnu11 $(WARN) $(CFLAGS) -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_CFLAGS = -std=gnu11 $(WARN) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined

US_SRCS   := $(sort $(wildcard userspace/*.c))
LIB_SRCS  := $(filter-out userspace/main.c,$(US_SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))

B         := build
OBJS      := $(patsubst userspace/%.c,$(B)/us/%.o,$(US_SRCS))
LIB_OBJS  := $(patsubst userspace/%.c,$(B)/us/%.o,$(LIB_SRCS))
SAN_OBJS  := $(patsubst userspace/%.c,$(B)/san/%.o,$(LIB_SRCS))
FZ_OBJS   := $(patsubst userspace/%.c,$(B)/fz/%.o,$(LIB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/tools/%,$(TOOL_SRCS))
HELPER    := $(B)/bootseal

FUZZ_SECONDS ?= 15
VM_KERNELS   ?= 6.1 6.12

# Quiet builds ("  CC      build/us/flash.o"); V=1 prints every command.
V ?= 0
ifeq ($(V),1)
Q   :=
msg := @:
else
Q   := @
msg := @printf '  %-7s %s\n'
endif
# Each object's header dependencies, written by the compiler (-MMD -MP).
DEPFLAGS = -MMD -MP

.PHONY: all module modules-all raw-gadget helper tools deps check unit fuzz vmtest vmtest-selftest fresh-clone check-debug \
	style checkpatch sparse clean install uninstall dkms-install dkms-uninstall dkms-source dkms-check demo bench blobs help

# Keep intermediate objects: parallel builds must not delete each other's.
.SECONDARY:

all: module helper

help:
	@sed -n 's/^#   //p' Makefile; echo; \
	echo "targets: all module modules-all raw-gadget helper tools deps check unit fuzz vmtest"; \
	echo "         vmtest-selftest fresh-clone check-debug style checkpatch sparse clean install uninstall"; \
	echo "         dkms-install dkms-uninstall demo bench blobs"

# ---- kernel module --------------------------------------------------------

module:
	@test -n "$(KDIR)" || { echo "No kernel headers found: run 'make deps' or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) BOOTSEAL_VERSION=$(VERSION) W=1 modules

# One out-of-tree copy per installed kernel, so both can be built side by side
# without mixing objects: build/kmod/<release>/bootseal.ko.
modules-all:
	@set -e; for k in $(KERNELS); do \
		d=$(B)/kmod/$$k; mkdir -p $$d/module/uapi; \
		cp -u Kbuild $$d/; cp -u module/*.c module/*.h $$d/module/ 2>/dev/null || true; \
		cp -u module/uapi/*.h $$d/module/uapi/; \
		echo "  KMOD    $$k"; \
		$(MAKE) -s -C /usr/src/linux-headers-$$k M=$(CURDIR)/$$d BOOTSEAL_VERSION=$(VERSION) W=1 modules \
			2>&1 | tee $$d/build.log; \
		if grep -q 'warning:' $$d/build.log; then echo "warnings building for $$k" >&2; exit 1; fi; \
		test -f $$d/bootseal.ko; \
	done

# The kernel's raw_gadget driver, unchanged, for each installed kernel
# (build/raw_gadget/<release>/raw_gadget.ko): the VM case that reproduces the
# BCM2711 ROM's configuration-descriptor quirk needs it (tests/raw-gadget.sh).
raw-gadget:
	@tests/raw-gadget.sh $(B) $(KERNELS)

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) BOOTSEAL_VERSION=$(VERSION) C=2 CF="-D__CHECK_ENDIAN__" modules 2>&1 | tee $(B)/sparse.log
	@! grep -E 'warning:|error:' $(B)/sparse.log

# ---- helper ---------------------------------------------------------------

helper: $(HELPER)

$(HELPER): $(OBJS)
	$(msg) LD $@
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)
	@ln -sf ../$(HELPER) userspace/bootseal

# The helper embeds `git describe`: objects are rebuilt when it changes.
$(B)/VERSION: FORCE
	@mkdir -p $(B); echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
.PHONY: FORCE

$(B)/us/%.o: userspace/%.c Makefile $(B)/VERSION | $(B)/us
	$(msg) CC $@
	$(Q)$(CC) $(US_CPPFLAGS) $(US_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/san/%.o: userspace/%.c Makefile | $(B)/san
	$(msg) CC $@
	$(Q)$(CC) $(US_CPPFLAGS) $(SAN_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/fz/%.o: userspace/%.c Makefile | $(B)/fz
	$(msg) CLANG $@
	$(Q)$(CLANG) $(US_CPPFLAGS) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -O1 -g \
		-fsanitize=fuzzer-no-link,address,undefined $(DEPFLAGS) -c -o $@ $<

$(B)/us $(B)/san $(B)/fz $(B)/unit $(B)/fuzz $(B)/tools:
	@mkdir -p $@

# ---- tests ----------------------------------------------------------------

# Unit tests: each tests/unit/test_*.c is linked with every helper source but
# main.c, under AddressSanitizer and UBSan.
$(B)/unit/%: tests/unit/%.c $(SAN_OBJS) | $(B)/unit
	$(msg) CCLD $@
	$(Q)$(CC) $(US_CPPFLAGS) $(SAN_CFLAGS) $(DEPFLAGS) -Itests/unit -o $@ $< $(SAN_OBJS) $(PKG_LIBS)

$(B)/fuzz/%: tests/fuzz/%.c $(FZ_OBJS) | $(B)/fuzz
	$(msg) CLANGLD $@
	$(Q)$(CLANG) $(US_CPPFLAGS) -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined $(DEPFLAGS) \
		-o $@ $< $(FZ_OBJS) $(PKG_LIBS)

# Test tools that run inside the VM (log-writes checker, netlink listener,
# fake Compute Module, ...): plain builds, linked with the helper library.
$(B)/tools/%: tests/tools/%.c $(LIB_OBJS) | $(B)/tools
	$(msg) CCLD $@
	$(Q)$(CC) $(US_CPPFLAGS) $(US_CFLAGS) $(DEPFLAGS) -Itests/tools -o $@ $< $(LIB_OBJS) $(PKG_LIBS)

tools: $(TOOL_BINS)

unit: $(UNIT_BINS)
	@pass=0; fail=0; for t in $(UNIT_BINS); do \
		if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 BOOTSEAL_SRC=$(CURDIR) \
			$$t > $$t.log 2>&1; then pass=$$((pass+1)); echo "PASS $$t"; \
		else fail=$$((fail+1)); echo "FAIL $$t"; tail -n 30 $$t.log; fi; done; \
	echo "unit: $$pass passed, $$fail failed"; test $$fail -eq 0

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		c=tests/fuzz/corpus/$$(basename $$f); mkdir -p $(B)/fuzz/work-$$(basename $$f); \
		echo "  FUZZ    $$f ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -timeout=10 -rss_limit_mb=1024 \
			$(B)/fuzz/work-$$(basename $$f) $$( [ -d $$c ] && echo $$c ) > $(B)/fuzz/$$(basename $$f).log 2>&1 \
			|| { tail -n 40 $(B)/fuzz/$$(basename $$f).log; exit 1; }; \
	done

# Both kernels' suites run at once, one virtual CPU each (the machine has two
# cores); each kernel's report is printed whole when its run ends.
VM_SMP ?= 1
vmtest: modules-all raw-gadget helper tools
	@mkdir -p $(B)/vm; for k in $(VM_KERNELS); do \
		( tests/vm/run --kernel $$k --smp $(VM_SMP) > $(B)/vm/vmtest-$$k.log 2>&1; \
		  echo $$? > $(B)/vm/vmtest-$$k.rc ) & \
	done; wait; rc=0; for k in $(VM_KERNELS); do \
		cat $(B)/vm/vmtest-$$k.log; [ "$$(cat $(B)/vm/vmtest-$$k.rc)" = 0 ] || rc=1; \
	done; for k in $(VM_KERNELS); do tail -n 1 $(B)/vm/vmtest-$$k.log; done | \
	awk '{ p += $$1; f += $$3; s += $$5 } END { \
		printf "%d passed, %d failed%s\n", p, f, s ? sprintf(", %d skipped", s) : "" }'; \
	exit $$rc

vmtest-selftest: modules-all
	tests/vm/selftest.sh

# The module's VM cases on a KASAN/lockdep/kmemleak 6.12 built from Debian's
# linux-source-6.12 (cached in /var/cache/bootseal) and on Debian's PREEMPT_RT
# 6.12. Not part of check (see README "Debug kernels").
check-debug:
	tests/debug/run

# The harness from a fresh clone of HEAD under /root, with scripts under /tmp.
fresh-clone:
	tests/fresh-clone.sh

check: deps
	$(MAKE) all modules-all raw-gadget tools
	$(MAKE) style
	$(MAKE) blobs
	$(MAKE) dkms-check
	$(MAKE) unit
	$(MAKE) fuzz
	$(MAKE) vmtest-selftest
	$(MAKE) fresh-clone
	$(MAKE) vmtest

# Every C file outside module/ (module/ follows the kernel's checkpatch.pl).
STYLE_SRC = userspace/*.[ch] tests/tools/*.c tests/unit/*.[ch] tests/fuzz/*.[ch]

style:
	clang-format --dry-run -Werror $(STYLE_SRC)
	cppcheck -q --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -D_GNU_SOURCE -I. -Iuserspace userspace/
	$(MAKE) checkpatch
	$(MAKE) sparse

# The kernel's style checker on module/ (tests/checkpatch.sh says where it comes from).
checkpatch:
	@tests/checkpatch.sh

deps:
	@tests/deps.sh

# ---- install --------------------------------------------------------------

# Where `make install` puts things (all under DESTDIR). udev and
# systemd-modules-load also read /usr/local/lib/..., so PREFIX=/usr/local works
# (as does systemd for units).
BASHCOMPDIR  ?= $(PREFIX)/share/bash-completion/completions
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
MODLOADDIR   ?= $(PREFIX)/lib/modules-load.d
UNITDIR      ?= $(PREFIX)/lib/systemd/system
# DKMS: the module sources go to $(DKMS_SRCTREE)/bootseal-$(VERSION).
DKMS         ?= dkms
DKMS_SRCTREE ?= /usr/src
DKMS_DIR      = $(DKMS_SRCTREE)/bootseal-$(VERSION)
# The kernel dkms-install builds for (default: the running kernel).
DKMS_KERNEL  ?=
DKMS_K        = $(if $(DKMS_KERNEL),-k $(DKMS_KERNEL))
# The helper bakes DATADIR (its default firmware directory) in, so install
# builds its own copy for exactly these paths, apart from the development one.
INST_B       := $(B)/install

# The firmware files installed: every file SHA256SUMS names, plus SHA256SUMS
# itself and the provenance README.
BLOB_FILES = SHA256SUMS $(if $(wildcard blobs/README.md),README.md) \
	     $(shell awk '{ sub(/^\*/, "", $$2); print $$2 }' blobs/SHA256SUMS 2>/dev/null)

install: blobs
	@if [ "$$(cat $(INST_B)/datadir 2>/dev/null)" != "$(DATADIR)" ]; then \
		rm -rf $(INST_B); mkdir -p $(INST_B); echo "$(DATADIR)" > $(INST_B)/datadir; fi
	@$(MAKE) --no-print-directory B=$(INST_B) DATADIR=$(DATADIR) $(INST_B)/bootseal
	@ln -sf ../$(HELPER) userspace/bootseal
	install -D -m 0755 $(INST_B)/bootseal $(DESTDIR)$(SBINDIR)/bootseal
	install -D -m 0644 userspace/man/bootseal.8 $(DESTDIR)$(MANDIR)/man8/bootseal.8
	install -D -m 0644 userspace/completion/bootseal $(DESTDIR)$(BASHCOMPDIR)/bootseal
	install -D -m 0644 userspace/udev/99-bootseal.rules $(DESTDIR)$(UDEVRULESDIR)/99-bootseal.rules
	install -D -m 0644 userspace/modules-load.d/bootseal.conf $(DESTDIR)$(MODLOADDIR)/bootseal.conf
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' 'userspace/systemd/bootseal-station@.service' \
		> '$(INST_B)/bootseal-station@.service'
	install -D -m 0644 '$(INST_B)/bootseal-station@.service' '$(DESTDIR)$(UNITDIR)/bootseal-station@.service'
	install -D -m 0644 userspace/systemd/bootseal-station.conf.example \
		$(DESTDIR)$(DATADIR)/bootseal-station.conf.example
	@set -e; for f in $(BLOB_FILES); do \
		install -D -m 0644 blobs/$$f $(DESTDIR)$(DATADIR)/blobs/$$f; done
	@echo "  INSTALL firmware: $(words $(BLOB_FILES)) files in $(DESTDIR)$(DATADIR)/blobs"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/bootseal $(DESTDIR)$(MANDIR)/man8/bootseal.8 \
		$(DESTDIR)$(BASHCOMPDIR)/bootseal $(DESTDIR)$(UDEVRULESDIR)/99-bootseal.rules \
		$(DESTDIR)$(MODLOADDIR)/bootseal.conf '$(DESTDIR)$(UNITDIR)/bootseal-station@.service' \
		$(DESTDIR)$(DATADIR)/bootseal-station.conf.example
	@set -e; for f in $(BLOB_FILES); do rm -f $(DESTDIR)$(DATADIR)/blobs/$$f; done
	@for d in $(DESTDIR)$(DATADIR)/blobs/raspberrypi/overlays $(DESTDIR)$(DATADIR)/blobs/raspberrypi \
		$(DESTDIR)$(DATADIR)/blobs/cm4 $(DESTDIR)$(DATADIR)/blobs $(DESTDIR)$(DATADIR); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done

# Only the module sources, with the version baked in (there is no git there).
dkms-source:
	rm -rf $(DKMS_DIR)
	install -d $(DKMS_DIR)/module/uapi
	install -m 0644 module/*.c module/*.h $(DKMS_DIR)/module/
	install -m 0644 module/uapi/*.h $(DKMS_DIR)/module/uapi/
	sed 's|^BOOTSEAL_VERSION ?=.*|BOOTSEAL_VERSION ?= $(VERSION)|' Kbuild > $(DKMS_DIR)/Kbuild
	sed 's|^PACKAGE_VERSION=.*|PACKAGE_VERSION="$(VERSION)"|' dkms.conf > $(DKMS_DIR)/dkms.conf

# Re-runnable: a version already added is removed first. AUTOINSTALL
# rebuilds the module for every later kernel in the supported range.
dkms-install:
	@if $(DKMS) status -m bootseal -v $(VERSION) 2>/dev/null | grep -q .; then \
		echo "$(DKMS) remove -m bootseal -v $(VERSION) --all"; \
		$(DKMS) remove -m bootseal -v $(VERSION) --all; fi
	$(MAKE) --no-print-directory dkms-source
	$(DKMS) add -m bootseal -v $(VERSION)
	$(DKMS) build -m bootseal -v $(VERSION) $(DKMS_K)
	$(DKMS) install -m bootseal -v $(VERSION) $(DKMS_K)

# Every installed version (the tree may have moved on since dkms-install).
dkms-uninstall:
	@set -e; for d in $(DKMS_SRCTREE)/bootseal-*; do [ -f $$d/dkms.conf ] || continue; \
		v=$${d##*/bootseal-}; echo "$(DKMS) remove -m bootseal -v $$v --all"; \
		$(DKMS) remove -m bootseal -v $$v --all || true; rm -rf $$d; done

# install/uninstall into a scratch DESTDIR, and `dkms build` for every
# installed kernel in a throwaway DKMS tree (leaves build/dkms/<release>/bootseal.ko
# for the VM case 90-dkms-load).
dkms-check:
	tests/install.sh

demo:
	@tests/demo/demo.sh

# Benchmarks against dd, xz, zstd and bmaptool in the VM (not a test: no
# timing assertion). Settings as variables, e.g. make bench BENCH_SIZE_MB=64
# BENCH_RUNS=1 BENCH_KERNEL=6.1; see tests/bench/README.md.
bench:
	$(MAKE) all modules-all tools
	tests/bench/run

blobs:
	@blobs/fetch.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(B) userspace/bootseal tests/out

-include $(wildcard $(B)/us/*.d $(B)/san/*.d $(B)/fz/*.d $(B)/unit/*.d $(B)/fuzz/*.d $(B)/tools/*.d)
