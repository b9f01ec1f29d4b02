// The pages' maps and whether they are idle, in a module of its own so that a
// page can have it before MapLibre (lib/map.js) is loaded: idle is true once
// MapLibre has rendered everything it was asked to (its `idle` event) and
// false after any change. The browser tests read it as window.__gridmap,
// which only the test bundle has (__TEST_HOOKS__ is a build-time constant,
// see build.mjs).
export const mapState = { idle: false, idleCount: 0, maps: [] };
if (__TEST_HOOKS__) window.__gridmap = mapState;
