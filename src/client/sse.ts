/** A minimal Server-Sent Events reader: text chunks in, complete events out (LF or CRLF). */

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export async function* readSse(chunks: AsyncIterable<Buffer | string>): AsyncIterable<SseMessage> {
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += chunk.toString().replace(/\r\n/g, '\n');
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const message: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line === '') continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') message.event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') message.id = value;
      }
      if (data.length === 0 && message.id === undefined) continue;
      message.data = data.join('\n');
      yield message;
    }
  }
}
