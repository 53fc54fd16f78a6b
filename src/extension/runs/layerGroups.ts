// The Runs tree's hierarchy of layers is the shared grouping by module path (src/shared/layerGroups.ts),
// which the query view's architecture row uses too; re-exported here so the tree's modules keep
// their import.
export { FLAT_MAX_LAYERS, findGroup, layerGroups, layerGroupsOf, type LayerGroup } from '../../shared/layerGroups';
