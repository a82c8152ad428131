import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/**
 * Follows a file another process appends to (here: the guest, through 9p) and hands over each new
 * piece of text. Polling rather than inotify: writes arrive through qemu and a short poll is simple
 * and certain.
 */
export class FileFollower {
  private offset = 0;
  private handle: FileHandle | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly onText: (text: string) => void,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.reading = this.reading.then(() => this.readNew());
    }, this.intervalMs);
  }

  /** Reads whatever is left and stops. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reading;
    await this.readNew();
    const rest = this.decoder.end();
    if (rest) this.onText(rest);
    await this.handle?.close();
    this.handle = undefined;
  }

  private async readNew(): Promise<void> {
    try {
      this.handle ??= await open(this.path, 'r');
    } catch {
      return; // not created yet
    }
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const text = this.decoder.write(buffer.subarray(0, bytesRead));
      if (text) this.onText(text);
    }
  }
}
