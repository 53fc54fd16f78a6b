// The one seeded generator of the tests and benchmarks: the product's (src/shared/seededRandom.ts),
// so fixtures are identical on every machine and a failing seed reproduces.
export { seededRandom } from '../../src/shared/seededRandom';
