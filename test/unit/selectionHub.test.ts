import * as assert from 'node:assert';
import { SelectionHub } from '../../src/extension/panels/selectionHub';

describe('SelectionHub', () => {
  it('relays a selection to every listener with its source and keeps the last one', () => {
    const hub = new SelectionHub();
    const heard: string[] = [];
    const a = hub.onDidSelect((s, src) => heard.push(`a:${s.layer}:${src}`));
    hub.onDidSelect(() => {
      throw new Error('a broken view');
    });
    hub.onDidSelect((s, src) => heard.push(`c:${s.channel}:${src}`));
    hub.select({ run: '/r', layer: 'conv1', channel: 3 }, 'tree');
    assert.deepStrictEqual(heard, ['a:conv1:tree', 'c:3:tree']);
    assert.deepStrictEqual(hub.current, { run: '/r', layer: 'conv1', channel: 3 });
    a.dispose();
    hub.select({ run: '/r', layer: 'pool1' }, 'query');
    assert.deepStrictEqual(heard, ['a:conv1:tree', 'c:3:tree', 'c:undefined:query']);
  });
});
