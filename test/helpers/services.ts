// Real services the tests start themselves (Debian's nginx, ...). A test may be
// skipped only where the binary is missing and CI is unset; under CI a missing
// binary is a failure (.ci/run installs them).
import { existsSync } from 'node:fs';

/** Whether `binary` exists; logs why its tests are skipped, or throws under CI. */
export function haveBinary(binary: string, aptPackage: string): boolean {
  if (existsSync(binary)) return true;
  if (process.env['CI']) throw new Error(`${binary} is missing under CI: .ci/run must apt-get install ${aptPackage}`);
  console.log(`tests that need ${binary} skipped: it is not installed (apt-get install ${aptPackage})`);
  return false;
}
