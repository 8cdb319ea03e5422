// What a serve thread is started with (workerData: structured-cloneable, no
// functions): the server's options as the CLI gives them, where to listen, and
// the shared memory the threads count stream connections in.
import type { ServeOptions } from '../serve.js';
import type { RegistryOptions } from '../registry.js';

/** ServeOptions without the parts that cannot cross threads (functions, live objects). */
export type ThreadServeOptions = Omit<ServeOptions, 'registry' | 'pixels' | 'access' | 'onError' | 'gatherMetrics' | 'streamSlots' | 'host' | 'port' | 'direct' | 'reusePort'> & {
  registry: Omit<RegistryOptions, 'open'>;
};

export interface ThreadConfig {
  index: number;
  serve: ThreadServeOptions;
  /** Access control on: the thread builds it from IMAGEBOX_TOKEN_SECRET (its environment is the process's). */
  requireToken: boolean;
  host: string;
  port: number;
  /** Share the port with the other threads (direct mode: SO_REUSEPORT). */
  reusePort: boolean;
  /** Stream connections of every thread (Int32Array[0]) and their bound. */
  streamSlots: SharedArrayBuffer;
  maxStreamConnections: number;
}
