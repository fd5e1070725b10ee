import type { PrivateMessage, RoomMessage } from './chat-protocol.types.js';
import { compareMessageIds, MessageTracker } from './message-tracker.js';

const ts = '2025-01-01T00:00:00.000Z';
const room = (id: string, name = 'general'): RoomMessage => ({
  id,
  room: name,
  from: 'bob',
  text: `m${id}`,
  ts,
});
const dm = (id: string, from: string, to: string): PrivateMessage => ({
  id,
  from,
  to,
  text: `p${id}`,
  ts,
});

describe(compareMessageIds.name, () => {
  it('orders integer strings numerically, beyond 2^53', () => {
    const ids = [
      '10',
      '9',
      '100',
      '11',
      '9007199254740993',
      '9007199254740992',
    ];
    expect([...ids].sort(compareMessageIds)).toEqual([
      '9',
      '10',
      '11',
      '100',
      '9007199254740992',
      '9007199254740993',
    ]);
    expect(compareMessageIds('5', '5')).toBe(0);
  });
});

describe(MessageTracker.name, () => {
  it('accepts an id once, whatever stream it comes through', () => {
    const tracker = new MessageTracker();
    expect(tracker.accept(room('1'), 'alice')).toBe(true);
    expect(tracker.accept(room('1'), 'alice')).toBe(false);
    expect(tracker.has('1')).toBe(true);
    expect(tracker.has('2')).toBe(false);
  });

  it('keeps the newest id per room, even when messages come out of order', () => {
    const tracker = new MessageTracker();
    tracker.accept(room('10'), 'alice');
    tracker.accept(room('9'), 'alice');
    tracker.accept(room('12', 'other'), 'alice');
    expect(tracker.lastSeenInRoom('general')).toBe('10');
    expect(tracker.lastSeenInRoom('other')).toBe('12');
    expect(tracker.lastSeenInRoom('none')).toBeUndefined();
    expect(tracker.lastSeen()).toBe('12');
  });

  it('files private messages under the other user, in both directions', () => {
    const tracker = new MessageTracker();
    tracker.accept(dm('3', 'bob', 'alice'), 'alice');
    tracker.accept(dm('5', 'alice', 'bob'), 'alice');
    tracker.accept(dm('4', 'carol', 'alice'), 'alice');
    tracker.accept(dm('6', 'alice', 'alice'), 'alice');
    expect(tracker.lastSeenWith('bob')).toBe('5');
    expect(tracker.lastSeenWith('carol')).toBe('4');
    expect(tracker.lastSeenWith('alice')).toBe('6');
    expect(tracker.conversations().sort()).toEqual(['alice', 'bob', 'carol']);
  });

  it('follows a conversation before its first message, and forgets all on clear()', () => {
    const tracker = new MessageTracker();
    tracker.follow('dave');
    expect(tracker.conversations()).toEqual(['dave']);
    expect(tracker.lastSeenWith('dave')).toBeUndefined();
    tracker.accept(room('1'), 'alice');
    tracker.clear();
    expect(tracker.conversations()).toEqual([]);
    expect(tracker.has('1')).toBe(false);
  });
});
