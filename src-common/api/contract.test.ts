import { describe, expect, it } from 'vitest';
import { API_METHODS, allChannels, channelName } from './contract';

describe('API contract', () => {
  it('derives one channel per method, named loupe:<section>.<method>', () => {
    const channels = allChannels();
    const methodCount = Object.values(API_METHODS).reduce((n, list) => n + list.length, 0);
    expect(channels).toHaveLength(methodCount);
    expect(new Set(channels).size).toBe(channels.length);
    expect(channels).toContain('loupe:flows.list');
    expect(channelName('proxy', 'setRecording')).toBe('loupe:proxy.setRecording');
    for (const channel of channels) expect(channel).toMatch(/^loupe:[a-z]+\.[a-zA-Z]+$/);
  });
});
