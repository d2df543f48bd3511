// The one "did you mean" rule lives beside the YAML reader, so that inventory errors (devices/ imports
// nothing of ours) suggest keys the way queries suggest fields.
export { suggest } from '../../devices/did-you-mean.ts';
