// (1) The practical limit: `ws` with JSON.parse, a handler table and one JSON.stringify per reply.
// `join` + `message` are the raw equivalent of the chat room fan-out: the broadcast is serialized
// once and that one string is sent to every member.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3001);
const rooms = new Map();
let nextMessageId = 1;

function join(data, socket) {
  let members = rooms.get(data.room);
  if (!members) {
    members = new Set();
    rooms.set(data.room, members);
  }
  members.add(socket);
  socket.rooms.add(data.room);
  return { room: data.room, members: members.size };
}

function message(data, socket) {
  const id = String(nextMessageId++);
  const ts = new Date().toISOString();
  const frame = JSON.stringify({
    event: 'message',
    data: { id, room: data.room, from: socket.user, text: data.text, ts },
  });
  for (const member of rooms.get(data.room) ?? []) {
    member.send(frame);
  }
  return { id, ts };
}

const handlers = new Map([
  ['echo', (data) => data],
  ['join', join],
  ['message', message],
]);

const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  clientTracking: false,
});

server.on('connection', (socket) => {
  socket.user = 'alice';
  socket.rooms = new Set();
  socket.on('message', (raw) => {
    let envelope;
    try {
      envelope = JSON.parse(raw.toString());
    } catch {
      return;
    }
    const handler = handlers.get(envelope?.event);
    if (!handler) {
      return;
    }
    const data = handler(envelope.data, socket);
    socket.send(
      JSON.stringify({ event: envelope.event, id: envelope.id, data }),
    );
  });
  socket.on('close', () => {
    for (const room of socket.rooms) {
      rooms.get(room)?.delete(socket);
    }
  });
});
