import type { PrivateMessage, RoomMessage } from '@app/ws-client';
import { ChatState, Conversation } from './chat-state.js';

const ts = '2025-01-01T00:00:00.000Z';
const message = (id: string, from = 'bob'): RoomMessage => ({
  id,
  room: 'general',
  from,
  text: `m${id}`,
  ts,
});

describe(Conversation.name, () => {
  it('keeps messages in id order, without duplicates, and notices after what preceded them', () => {
    const conversation = new Conversation('room', 'general');
    conversation.addMessage(message('10'));
    conversation.addNotice('carol has joined the chat');
    expect(conversation.addMessage(message('9'))).toBe(true);
    expect(conversation.addMessage(message('10'))).toBe(false);
    conversation.addMessage(message('11'));
    expect(
      conversation.entries.map((entry) =>
        entry.kind === 'message' ? entry.message.id : entry.text,
      ),
    ).toEqual(['9', '10', 'carol has joined the chat', '11']);
    expect(conversation.newestId).toBe('11');
  });
});

describe(ChatState.name, () => {
  it('files private messages under the other user and counts unread ones', () => {
    const state = new ChatState('alice');
    const incoming: PrivateMessage = {
      id: '1',
      from: 'bob',
      to: 'alice',
      text: 'hi',
      ts,
    };
    const outgoing: PrivateMessage = {
      id: '2',
      from: 'alice',
      to: 'bob',
      text: 'yo',
      ts,
    };
    state.addMessage(incoming);
    state.addMessage(outgoing);
    const dm = state.conversation('dm', 'bob');
    expect(dm.messages.map((entry) => entry.id)).toEqual(['1', '2']);
    expect(dm.unread).toBe(1);
    state.open('dm', 'bob');
    expect(dm.unread).toBe(0);
    state.addMessage({ ...incoming, id: '3' });
    expect(dm.unread).toBe(0);
  });

  it('tracks members, presence and statuses per room', () => {
    const state = new ChatState('alice');
    state.setMembers('general', [{ user: 'alice', status: 'online' }]);
    state.presence('general', 'bob', 'join');
    state.setStatus('bob', 'busy');
    expect(state.members.get('general')).toEqual([
      { user: 'alice', status: 'online' },
      { user: 'bob', status: 'busy' },
    ]);
    expect(state.roomCounts.get('general')).toBe(2);
    state.presence('general', 'bob', 'leave');
    expect(state.roomCounts.get('general')).toBe(1);
    expect(state.statusOf('bob')).toBe('busy');
  });
});
