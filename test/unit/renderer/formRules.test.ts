// Tests of lib/formRules.ts: the launch and connect forms' field checks, which mirror the
// backend's validation so errors show next to the field.

import { describe, expect, it } from 'vitest';
import { checkConnect, checkLaunch, endpointProblem, splitEndpoints } from '../../../renderer/lib/formRules.ts';

const launch = { name: '', dcs: 3, layout: ['2', '2', '1'], latencyMs: '' };
const connect = { id: null, name: 'prod', group: ' eu ', endpoints: 'ws://10.0.0.1:7001/client\n\n wss://n2.example/client ', token: 'tok', ca: '', removeCa: false, readOnly: false };

describe('checkLaunch', () => {
  it('turns good fields into a request, leaving out the empty latency and name', () => {
    expect(checkLaunch(launch)).toEqual({ ok: true, value: { dcs: 3, layout: [2, 2, 1] } });
    expect(checkLaunch({ ...launch, name: ' lab ', latencyMs: '40' })).toEqual({ ok: true, value: { name: 'lab', dcs: 3, layout: [2, 2, 1], wanLatencyMs: 40 } });
  });

  it('names the field that is wrong', () => {
    expect(checkLaunch({ ...launch, layout: ['2', 'x', '1'] })).toEqual({ ok: false, errors: { layout: 'datacenter 2 needs 1 to 5 nodes' } });
    expect(checkLaunch({ ...launch, layout: ['2', '0', '1'] })).toMatchObject({ ok: false, errors: { layout: expect.stringMatching(/datacenter 2/) } });
    expect(checkLaunch({ ...launch, layout: ['5', '5', '1'] })).toMatchObject({ ok: false, errors: { layout: 'at most 9 nodes in all; this layout has 11' } });
    expect(checkLaunch({ ...launch, layout: ['2', '2'] })).toMatchObject({ ok: false, errors: { layout: expect.stringMatching(/each of the 3/) } });
    expect(checkLaunch({ ...launch, dcs: 6, layout: ['1', '1', '1', '1', '1', '1'] })).toMatchObject({ ok: false, errors: { dcs: 'choose 1 to 5 datacenters' } });
    expect(checkLaunch({ ...launch, latencyMs: '-3' })).toMatchObject({ ok: false, errors: { latencyMs: expect.stringMatching(/0 to 2000/) } });
    expect(checkLaunch({ ...launch, latencyMs: '2001' })).toMatchObject({ ok: false, errors: { latencyMs: expect.any(String) } });
    expect(checkLaunch({ ...launch, name: 'x'.repeat(101) })).toMatchObject({ ok: false, errors: { name: 'at most 100 characters' } });
  });
});

describe('checkConnect', () => {
  it('trims, splits endpoints by line and keeps the token write-only', () => {
    expect(checkConnect(connect)).toEqual({
      ok: true,
      value: { name: 'prod', group: 'eu', endpoints: ['ws://10.0.0.1:7001/client', 'wss://n2.example/client'], token: 'tok', readOnly: false },
    });
  });

  it('requires a name, endpoints and (for a new connection) a token', () => {
    const result = checkConnect({ ...connect, name: ' ', endpoints: '', token: '' });
    expect(result).toEqual({
      ok: false,
      errors: {
        name: 'give the connection a name',
        endpoints: 'give at least one node endpoint, e.g. ws://10.0.0.5:7001/client',
        token: 'a token is required for a new connection',
      },
    });
  });

  it('says which endpoint line is wrong and why', () => {
    expect(checkConnect({ ...connect, endpoints: 'ws://a:1/client\nhttp://b:2/client' })).toMatchObject({ errors: { endpoints: 'line 2 must start with ws:// or wss://, not http://' } });
    expect(endpointProblem('not a url')).toMatch(/not a URL/);
    expect(endpointProblem('ws://user:pw@h:1/client')).toMatch(/credentials/);
    expect(endpointProblem('wss://h:1/client')).toBeNull();
    expect(splitEndpoints(' a \r\n\nb\n')).toEqual(['a', 'b']);
  });

  it('refuses a token with whitespace and a CA that is not PEM', () => {
    expect(checkConnect({ ...connect, token: 'two words' })).toMatchObject({ errors: { token: expect.stringMatching(/no spaces/) } });
    expect(checkConnect({ ...connect, ca: 'hello' })).toMatchObject({ errors: { ca: expect.stringMatching(/PEM/) } });
  });

  it('when editing, an empty token keeps the saved one and remove-CA sends null', () => {
    const result = checkConnect({ ...connect, id: 'c1', token: '', removeCa: true });
    expect(result).toEqual({ ok: true, value: { id: 'c1', name: 'prod', group: 'eu', endpoints: ['ws://10.0.0.1:7001/client', 'wss://n2.example/client'], readOnly: false, ca: null } });
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(checkConnect({ ...connect, ca: pem, readOnly: true })).toMatchObject({ ok: true, value: { ca: `${pem}\n`, readOnly: true } });
  });
});
