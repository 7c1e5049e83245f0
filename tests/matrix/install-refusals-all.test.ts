// Every bad answer file of tests/e2e/install-refusals booted in the installer
// (`make test` boots only the first: the parser is the same for all six).
process.env.XSFORGE_ALL_BOOTS = '1';
await import('../e2e/install-refusals.test.ts');
