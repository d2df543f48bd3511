// Positions in a YAML document live with the YAML reader (devices/yaml-value.ts): the inventory, the
// manifests and the config file point at their errors the same way.
export { positionOf, type YamlPosition } from '../../devices/yaml-value.ts';
