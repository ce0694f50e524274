# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of zram.ko against Debian's 6.1 or 6.12 headers.
#   make            build zram.ko for the newest installed 6.1
#   make KVER=6.12.N+deb12-amd64   for an installed release (6.1 or 6.12)
#   make KDIR=DIR   for the headers (or kernel build) in DIR
#   make ZCX_WERROR=1   warnings are errors (scripts/check.sh sets it)
#   make run        set up, build, boot the stock 6.1 kernel in QEMU, demo
#   make check      every test; ends with "N passed, M failed"
#   make host-test  the core's host tests (GoogleTest, ASan + UBSan)

# The release a headers tree (or kernel build) was made for, as uname -r
# says it: UTS_RELEASE (Debian's 6.1 headers' kernel.release says 6.1.N).
krel = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' $(1)/include/generated/utsrelease.h 2>/dev/null)

# By default the headers of the newest installed Debian 6.1 kernel: the one
# the VM boots.  Picked by name, so an installed 6.12 (6.1.* does not
# match 6.12.*) never becomes the default.  With KDIR= alone, KVER (for
# install) is the release those headers were built for.
ifdef KDIR
KVER ?= $(call krel,$(KDIR))
else
KVER ?= $(shell find /boot -maxdepth 1 -name 'vmlinuz-6.1.*-amd64' | sort -V | tail -n1 | sed 's,.*/vmlinuz-,,')
KDIR := /usr/src/linux-headers-$(KVER)
endif
# drivers/zram_compat.h knows 6.1 and 6.12, nothing else.
KREL = $(call krel,$(KDIR))
# Match the compiler the kernel was built with: g++ of its gcc's major
# version (gcc-12 for bookworm's 6.1 and 6.12, gcc-14 for Debian 13's).
gcc_major = $(shell sed -n 's/^\#define CONFIG_GCC_VERSION \([0-9]*\)[0-9][0-9][0-9][0-9]$$/\1/p' $(1)/include/generated/autoconf.h 2>/dev/null)
CXX := g++-$(or $(call gcc_major,$(KDIR)),12)
export CXX

PWD := $(shell pwd)

# No BTF in our modules: pahole (1.24) cannot encode the C++ object's
# DWARF (rvalue references) and fails the link.  Debian's 6.12 headers
# ship a vmlinux to encode against, so Kbuild tries there; 6.1's ship
# none, so 6.1 builds never had module BTF.
NO_BTF := CONFIG_DEBUG_INFO_BTF_MODULES=

.PHONY: all modules clean setup run check host-test install uninstall kunit bench

all: modules

modules:
	@test -n "$(KVER)" -a -d "$(KDIR)" || { echo "no kernel headers in '$(KDIR)' (KVER '$(KVER)'): run scripts/setup.sh" >&2; exit 1; }
	@case "$(KREL)" in 6.1.*|6.12.*) ;; *) echo "zram-cxx builds against Linux 6.1 or 6.12; $(KDIR) is '$(KREL)'" >&2; exit 1;; esac
	$(MAKE) -C $(KDIR) M=$(PWD) CXX=$(CXX) $(NO_BTF) modules
	scripts/check-ko.sh zram.ko $(KDIR)
	scripts/check-ko.sh zram_codecs.ko $(KDIR)

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean
	rm -rf build

setup:
	scripts/setup.sh

run: setup
	$(MAKE) modules
	scripts/vm-run.sh tests/vm/demo.sh

check: setup
	scripts/check.sh

host-test:
	scripts/host-test.sh

# KUnit suites on a KASAN + lockdep debug kernel (built once, cached).
kunit: setup
	scripts/kunit.sh

# ours vs stock zram vs brd, deterministic (icount); report in bench/results.
bench: setup
	scripts/bench.sh

# Installs zram.ko and zram_codecs.ko into /lib/modules/$(KVER)/updates,
# which depmod ranks above the stock module: `modprobe zram` then loads
# ours, and zram.ko's request_module finds the companion.  INSTALL_MOD_PATH stages.
# Debian's headers carry no signing key: install unsigned.  Kbuild skips
# depmod without a System.map in the headers, so run it here.
install: modules
	$(MAKE) -C $(KDIR) M=$(PWD) INSTALL_MOD_DIR=updates CONFIG_MODULE_SIG_ALL= modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

# 6.12's modules_install compresses (zram.ko.xz); 6.1's does not.
uninstall:
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/updates/zram.ko \
		$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/updates/zram.ko.xz \
		$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/updates/zram_codecs.ko \
		$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/updates/zram_codecs.ko.xz
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)
