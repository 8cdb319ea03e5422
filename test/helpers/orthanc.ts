// Debian's Orthanc with its DICOMweb plugin, started by a test with its own
// config in a temporary directory (no system service, no DICOM port), on a
// free port of 127.0.0.1, HTTP Basic authentication on (so the tests send the
// credential a configured slide gives, and show what happens without it).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nginx.js';
import { haveBinary } from './services.js';

export const ORTHANC = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
export const haveOrthanc = haveBinary(ORTHANC, 'orthanc') && haveBinary(DICOMWEB_PLUGIN, 'orthanc-dicomweb');

export const ORTHANC_USER = 'imagebox';
export const ORTHANC_PASSWORD = 'not-a-real-secret-3f9a';
/** The Authorization header value of the registered user. */
export const ORTHANC_AUTH = `Basic ${Buffer.from(`${ORTHANC_USER}:${ORTHANC_PASSWORD}`).toString('base64')}`;

export interface Orthanc {
  url: string;
  /** The DICOMweb root, without a trailing slash. */
  dicomweb: string;
  /** Upload Part 10 files (POST /instances); their Orthanc ids. */
  upload(files: string[]): Promise<string[]>;
  /** The DICOMweb series URL of a series by its Series Instance UID. */
  seriesUrl(studyUid: string, seriesUid: string): string;
  stop(): Promise<void>;
}

/** Start Orthanc; `auth: false` for one without authentication (what an ad-hoc id, which carries no credential, can read). */
export async function startOrthanc(o: { auth?: boolean } = {}): Promise<Orthanc> {
  const auth = o.auth !== false;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-orthanc-'));
  const config = {
    Name: 'imagebox-test',
    HttpPort: port,
    DicomServerEnabled: false,
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    Plugins: [DICOMWEB_PLUGIN],
    RemoteAccessAllowed: false,
    AuthenticationEnabled: auth,
    RegisteredUsers: auth ? { [ORTHANC_USER]: ORTHANC_PASSWORD } : {},
    HttpCompressionEnabled: false,
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  };
  writeFileSync(join(dir, 'orthanc.json'), JSON.stringify(config));
  const child: ChildProcess = spawn(ORTHANC, [join(dir, 'orthanc.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 200 && !up; i++) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited: ${err}`);
    up = await fetch(`${url}/system`, { headers: { authorization: ORTHANC_AUTH } }).then(
      (r) => r.ok,
      () => false,
    );
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) throw new Error(`Orthanc did not come up on ${url}: ${err}`);
  return {
    url,
    dicomweb: `${url}/dicom-web`,
    async upload(files) {
      const ids: string[] = [];
      for (const f of files) {
        const r = await fetch(`${url}/instances`, { method: 'POST', headers: { authorization: ORTHANC_AUTH }, body: readFileSync(f) });
        if (!r.ok) throw new Error(`upload of ${f}: ${r.status} ${await r.text()}`);
        ids.push(((await r.json()) as { ID: string }).ID);
      }
      return ids;
    },
    seriesUrl: (study, series) => `${url}/dicom-web/studies/${study}/series/${series}`,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          rmSync(dir, { recursive: true, force: true }); // its storage: the uploaded copies
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
