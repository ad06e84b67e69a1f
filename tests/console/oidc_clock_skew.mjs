// Preloaded into the test provider (NODE_OPTIONS=--import): its clock runs
// OIDC_CLOCK_SHIFT_MS ahead of this machine's, as a provider on another server whose clock
// has drifted a little.
const shift = Number(process.env.OIDC_CLOCK_SHIFT_MS || 0);
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + shift;
