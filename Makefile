# SPDX-License-Identifier: GPL-2.0
#
# lol: top-level Makefile. Single-purpose targets; the kernel module is
# built by Kbuild (see ./Kbuild), everything else by plain make.
#
#   make             module + userspace + selftests
#   make check       build, boot Debian's kernel in QEMU, run the suite
#                    (the guest suite too: it builds the guest first; and
#                    lol.ko built, installed and loaded through DKMS)
#   make guest       User-Mode Linux with guest-patch/ applied, the guest
#                    programs and root file system, in $(BUILD)/guest
#   make check-ia64  the IA-64 port, compile-checked: a cross gcc from
#                    Debian's gcc-12-source and an ia64 kernel tree from
#                    linux-source-6.1 (both built once into LOL_CACHE,
#                    ~25 minutes on 2 cores), then lol.ko for ia64 -Werror
#   make check-debug the suite + 60 s of lol-fuzz on a debug kernel (KASAN,
#                    lockdep, kmemleak, UBSAN), built once into LOL_CACHE
#   make fuzz        lol-fuzz in the VM for SECONDS (300) [SEED=...]
#   make demo        boot the VM, load lol, boot UML on lol to a prompt, then
#                    UML on lol vs UML on ptrace vs native, the seed's table
#                    and a chart [CLOCK=icount|tcg] [QUICK=1]
#   make bench       lol-bench in the VM (TCG wall clock and icount)
#   make profile     instructions per operation of one lol-bench row, by
#                    function, exactly (icount + a QEMU plugin)
#                    [LOL_PROFILE=lol-runloop]
#   make deps        install the Debian packages the project needs
#   make style       checkpatch.pl --no-tree on all module/uapi sources
#   make sparse      sparse over the module (C=2)
#   make install     install lol.ko for the running kernel (`uname -r`, or
#                    KVER=...; [DESTDIR=...]), the uapi header, liblol,
#                    lolctl, the udev rule
#   make dkms-install lol.ko through DKMS: the module sources to
#                    /usr/src/lol-<VERSION>, dkms add, build and install for
#                    the running kernel (or KVER=...) and every kernel with
#                    headers; DKMS rebuilds it for new kernels. Plus make
#                    install's userspace files
#   make dkms-remove every lol version out of DKMS and /usr/src
#   make clean       remove build output
#
# The module is built with -Werror (LOL_WERROR=1) except for install and
# dkms builds; LOL_WERROR=0 turns it off.
#
# ARCH=arm64 (all, module, userspace, selftests, deps, check, style): the
# arm64 port, cross-built with $(CROSS_COMPILE)gcc (aarch64-linux-gnu-)
# against Debian's arm64 kernel of the same release, which make deps
# fetches into LOL_CACHE (scripts/kernel-arm64.sh), and run-tested in
# qemu-system-aarch64 (make check ARCH=arm64: the arm64 subset of the
# suite, Documentation/testing.md).

# The port: x86 (default) or arm64, the name of module/arch/, uapi/arch/,
# selftests/lib/; the QEMU harness takes the same names.
ifneq ($(filter arm64 aarch64,$(ARCH)),)
override ARCH := arm64
LOL_ARCH      := arm64
CROSS_COMPILE ?= aarch64-linux-gnu-
export ARCH CROSS_COMPILE
else
LOL_ARCH      := x86
endif
export LOL_ARCH

# The kernel to build for. check, bench, demo, fuzz boot Debian's kernel of
# the installed headers metapackage in QEMU (scripts/kver.sh); install and
# dkms-* are for this machine: the running kernel. KVER=... on the command
# line or in the environment overrides both.
LOL_HOST_GOALS := install install-module install-userspace dkms-install \
	dkms-remove
ifneq ($(filter $(LOL_HOST_GOALS),$(MAKECMDGOALS)),)
ifeq ($(origin KVER),undefined)
KVER      := $(shell uname -r)
endif
KDIR      ?= /lib/modules/$(KVER)/build
LOL_WERROR ?= 0
endif
LOL_CACHE ?= $(HOME)/.cache/lol
KVER      ?= $(shell LOL_ARCH=$(LOL_ARCH) scripts/kver.sh)
ifeq ($(LOL_ARCH),arm64)
KDIR      ?= $(LOL_CACHE)/kernel/$(KVER)/build
# Userspace and selftests: static aarch64 binaries.
LOL_USER_MAKE := CC=$(CROSS_COMPILE)gcc AR=$(CROSS_COMPILE)ar
else
KDIR      ?= /usr/src/linux-headers-$(KVER)
endif
LOL_WERROR ?= 1
ifeq ($(LOL_ARCH),arm64)
BUILD     ?= $(CURDIR)/build/arm64
else
BUILD     ?= $(CURDIR)/build
endif
PREFIX    ?= /usr/local
export KVER KDIR LOL_CACHE BUILD

.PHONY: all module userspace selftests guest check check-ia64 check-debug demo \
	bench profile fuzz deps style sparse install install-module install-userspace \
	dkms-install dkms-remove clean help

all: module userspace selftests

help:
	@sed -n '3,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

module:
	@test -f $(KDIR)/Makefile || { echo "no kernel headers for $(KVER) at" \
		"$(KDIR): install linux-headers-$(KVER), or set KVER/KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) LOL_WERROR=$(LOL_WERROR) modules

userspace:
	$(MAKE) -C userspace BUILD=$(BUILD) $(LOL_USER_MAKE)

selftests: userspace
	$(MAKE) -C selftests OUTPUT=$(BUILD)/selftests $(LOL_USER_MAKE)

# arm64: no guest (UML is x86), no sparse, and lol-run's self-test runs
# on the build machine, so not for an aarch64 lol-run.
ifeq ($(LOL_ARCH),arm64)
check: deps
	$(MAKE) module userspace selftests style
	scripts/check.sh
else
check: deps
	$(MAKE) module userspace selftests guest style sparse
	userspace/tools/lol-run-selftest.sh $(BUILD)/bin/lol-run
	scripts/check.sh
endif

# UML (cached in $(LOL_CACHE)/guest), the guest programs, the root.
guest: deps userspace
	scripts/guest-build.sh >/dev/null
	$(MAKE) -C userspace/guest BUILD=$(BUILD)
	scripts/guest-rootfs.sh

# No userspace: Debian 12 has no ia64 C library (scripts/check-ia64.sh).
check-ia64:
	scripts/check-ia64.sh

check-debug: deps
	$(MAKE) userspace selftests
	scripts/check-debug.sh

fuzz: deps
	$(MAKE) module userspace
	scripts/fuzz.sh --seconds $(or $(SECONDS),300) $(if $(SEED),--seed $(SEED))

demo: deps
	$(MAKE) module userspace guest
	scripts/demo.sh $(if $(CLOCK),--clock $(CLOCK)) $(if $(filter 1,$(QUICK)),--quick)

bench: deps
	$(MAKE) module userspace selftests
	scripts/bench.sh

# Instructions per operation of one lol-bench row, by function (icount).
LOL_PROFILE ?= lol-runloop
profile: deps
	$(MAKE) module userspace
	scripts/profile.sh $(LOL_PROFILE)

deps:
	scripts/deps.sh

style:
	scripts/style.sh

# sparse over every module file; any warning fails.
sparse:
	@mkdir -p $(BUILD)
	$(MAKE) -C $(KDIR) M=$(CURDIR) LOL_WERROR=$(LOL_WERROR) C=2 modules 2>&1 | tee $(BUILD)/sparse.log
	@! grep -E '(warning|error):' $(BUILD)/sparse.log

install: install-module install-userspace

# lol.ko to $(DESTDIR)/lib/modules/$(KVER)/extra. Kbuild's depmod needs a
# System.map, which Debian's headers lack: depmod here (not for DESTDIR).
install-module: module
	@if [ -z "$(DESTDIR)" ] && [ -d /var/lib/dkms/lol ]; then \
		echo "warning: DKMS has lol too (make dkms-remove): two lol.ko for $(KVER)" >&2; fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(if $(DESTDIR),,depmod -a $(KVER) || true)

install-userspace: userspace
	install -D -m 0644 uapi/linux/lol.h $(DESTDIR)$(PREFIX)/include/linux/lol.h
	install -D -m 0644 uapi/linux/lol_netlink.h $(DESTDIR)$(PREFIX)/include/linux/lol_netlink.h
	install -D -m 0644 uapi/arch/x86/asm/lol.h $(DESTDIR)$(PREFIX)/include/asm/lol.h
	install -D -m 0644 userspace/lib/liblol.h $(DESTDIR)$(PREFIX)/include/lol/liblol.h
	install -D -m 0644 userspace/lib/guest.h $(DESTDIR)$(PREFIX)/include/lol/guest.h
	install -D -m 0755 $(BUILD)/bin/lolctl $(DESTDIR)$(PREFIX)/bin/lolctl
	install -D -m 0755 $(BUILD)/bin/lolstat $(DESTDIR)$(PREFIX)/bin/lolstat
	install -D -m 0644 $(BUILD)/lib/liblol.a $(DESTDIR)$(PREFIX)/lib/liblol.a
	install -D -m 0644 udev/60-lol.rules $(DESTDIR)/etc/udev/rules.d/60-lol.rules

# scripts/dkms.sh: /usr/src/lol-$(VERSION), dkms add, build, install.
dkms-install: install-userspace
	scripts/dkms.sh install

dkms-remove:
	scripts/dkms.sh remove

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C userspace/guest BUILD=$(BUILD) clean
	rm -rf $(BUILD)
