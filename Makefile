# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of zram.ko against Debian's 6.1 headers.
#   make            build zram.ko (KDIR= overrides the headers)
#   make run        set up, build, boot the stock 6.1 kernel in QEMU, demo
#   make check      every test; ends with "N passed, M failed"
#   make host-test  the core's host tests (GoogleTest, ASan + UBSan)

# The headers of the newest installed Debian 6.1 kernel: the one the VM boots.
KVER ?= $(shell find /boot -maxdepth 1 -name 'vmlinuz-6.1.*-amd64' | sort -V | tail -n1 | sed 's,.*/vmlinuz-,,')
KDIR ?= /usr/src/linux-headers-$(KVER)
# Match the compiler the kernel was built with (gcc-12 on bookworm).
CXX := g++-12
export CXX

PWD := $(shell pwd)

.PHONY: all modules clean setup run check host-test install uninstall kunit bench

all: modules

modules:
	@test -n "$(KVER)" -a -d "$(KDIR)" || { echo "no 6.1 kernel+headers: run scripts/setup.sh" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(PWD) CXX=$(CXX) modules
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

uninstall:
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/updates/zram.ko \
		$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/updates/zram_codecs.ko
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)
