// The UEFI CD install of tests/e2e/install.test (`make test` covers UEFI installs
// with pxe-install's GRUB network boot; this boots OVMF from the ISO's El Torito
// EFI image and installs from the CD).
process.env.XSFORGE_INSTALL_CASES = 'uefi';
await import('../e2e/install.test.ts');
