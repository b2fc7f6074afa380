/**
 * Dependencies a test can take away and give back without touching the shared
 * MariaDB and Redis: a throw-away redis-server child on a free port, and a
 * TCP proxy in front of MariaDB that can refuse every connection. Plus a
 * logger whose JSON lines a test can read.
 *
 *   const redis = await startPrivateRedis();      // REDIS_PORT: String(redis.port)
 *   await redis.kill(); … await redis.start();
 *   await redis.close();                           // in afterAll, always
 */
import { spawn, type ChildProcess } from 'child_process';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'net';
import { JsonLogger } from '../../src/ops/json-logger';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PrivateRedis {
  port: number;
  readonly running: boolean;
  /** Kills the server at once (SIGKILL, as a crash); its data is gone, as after a restart without persistence. */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** Kills the server if it runs; call it in afterAll whatever happened. */
  close(): Promise<void>;
}

/**
 * A redis-server child of this process, without persistence, on a free port
 * of 127.0.0.1. It runs under a small shell that kills it when its stdin
 * closes: on kill(), and also when this process dies without cleaning up
 * (Jest's sandboxed `process` gets no 'exit' event to hook).
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;

  const kill = async () => {
    const running = child;
    if (!running) return;
    child = null;
    if (running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.stdin?.end();
    });
  };
  const start = async () => {
    if (child) return;
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    // The shell ends with the server; the watcher kills the server when stdin closes (an async list reads /dev/null unless told).
    const script = 'exec 3<&0; redis-server "$@" & server=$!; { read -r _ <&3; kill -9 $server; } & wait $server';
    const started = spawn('sh', ['-c', script, 'sh', ...args], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child = started;
    const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited (${code})`))));
    exited.catch(() => undefined);
    await Promise.race([answersPing(port, 10_000), exited]);
  };
  await start();
  return {
    port,
    get running() {
      return child !== null;
    },
    kill,
    start,
    close: kill,
  };
}

async function answersPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await redisCommand(port, 'PING')).startsWith('+PONG')) {
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends one inline command to the Redis on `port`; its first reply line, or '' when nobody answered. */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data.split('\r\n')[0]));
  });
}

export interface TcpProxy {
  port: number;
  /** Resets every open connection and, from now on, every new one: the target looks down. */
  refuse(): void;
  /** Forwards new connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** A proxy on a free port of 127.0.0.1 to `target`, which a test can make refuse everything. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    track(client);
    if (refusing) return client.resetAndDestroy();
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    refuse() {
      refusing = true;
      for (const socket of open) socket.resetAndDestroy();
    },
    restore() {
      refusing = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface LogLine {
  level: string;
  context?: string;
  msg: string;
}

/** A JsonLogger (the plug-in's production logger) whose lines land in `lines`, parsed. */
export function capturingLogger(lines: LogLine[], level: 'info' | 'debug' = 'info'): JsonLogger {
  return new JsonLogger(level, {
    write(line: string) {
      lines.push(JSON.parse(line) as LogLine);
    },
  });
}
