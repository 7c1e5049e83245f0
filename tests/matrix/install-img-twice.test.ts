// install.img built twice and compared entry by entry (tests/integration/install-img
// builds it once in make test; reproducible.test compares the shipped one).
process.env.XSFORGE_INSTALL_IMG_TWICE = '1';
await import('../integration/install-img.test.ts');
