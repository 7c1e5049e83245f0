# xsforge: the two commands a new machine needs are `make iso` and `make test`.
RECIPE ?= recipes/xenserver-7.1.2.yaml
XSFORGE = ./bin/xsforge

# Debian packages the build and the tests run (kept in step with core/tools.ts).
DEBIAN_DEPS = xorriso isolinux syslinux-common pxelinux mtools dosfstools grub-common \
  grub-efi-amd64-bin mmdebstrap cpio zstd xz-utils qemu-system-x86 ovmf apt dpkg e2fsprogs \
  gdisk fdisk rpm rpm2cpio createrepo-c dnf gnupg gpgv dpkg-dev gcc make binutils patch \
  bison flex python3 dnsmasq-base curl libc6-dev bzip2 qemu-utils kmod chromium \
  libvirt-clients openssh-client grub-pc-bin

.PHONY: iso test test-unit test-matrix deps npm-deps debian-deps typecheck bench clean

iso: deps
	$(XSFORGE) build $(RECIPE)

test: deps
	npm test

test-unit: npm-deps
	npm run test:unit

# Longer boots kept out of `make test`: the dom0 image booted directly under Xen
# (its first boot is also covered by the installs in tests/e2e).
test-matrix: deps
	node --import tsx tests/run.ts matrix

typecheck: npm-deps
	npx tsc --noEmit

bench: deps
	npm run bench

deps: debian-deps npm-deps

# Install only what is missing, so a warm machine spends no time here.
debian-deps:
	@missing=$$(for p in $(DEBIAN_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

npm-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf output
