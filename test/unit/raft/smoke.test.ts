import { describe, expect, it } from 'vitest';
import { TestNetwork, ids, bytes } from './network.ts';
describe('smoke', () => {
  for (const opts of [{}, { preVote: true, checkQuorum: true }]) it('elects and replicates ' + JSON.stringify(opts), () => {
    const [a, b, c] = ids(3);
    const net = new TestNetwork([a!, b!, c!], opts);
    net.node(a!).campaign();
    net.stabilize();
    expect(net.node(a!).status().role).toBe('leader');
    for (let i = 0; i < 100; i++) expect(net.node(a!).propose(bytes('x' + i)).ok).toBe(true);
    net.stabilize();
    net.tickAll(3);
    for (const id of [a, b, c]) expect(net.appliedData(id!).length).toBe(100);
    net.isolate(a!);
    net.tickAll(40);
    const l = net.leader();
    console.log(l?.id, l?.status().term, net.node(a!).status());
    net.heal();
    net.tickAll(5);
    expect(net.node(a!).status().role).toBe('follower');
    l!.propose(bytes('after'));
    net.tickAll(3);
    for (const id of [a, b, c]) expect(net.appliedData(id!).at(-1)).toBe('after');
    const s = l!.compact(l!.status().appliedIndex, bytes('snap'));
    expect(s.meta.index).toBeGreaterThan(100);
  });
});
