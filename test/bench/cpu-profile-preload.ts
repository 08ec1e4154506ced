/**
 * Preloaded into the server (NODE_OPTIONS=--require dist/cpu-profile-preload.cjs, since --cpu-prof is
 * not allowed there) when BENCH_CPU_PROF is set: profiles the whole process and writes
 * <dir>/server-<pid>.cpuprofile at SIGTERM or exit.
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // A session on the same thread answers synchronously, so this works inside 'exit' too.
    session.post('Profiler.stop', (err, result) => {
      if (err) return void process.stderr.write(`cpu profile: ${err.message}\n`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  const onTerm = () => {
    write();
    process.removeListener('SIGTERM', onTerm);
    // Nobody else handles SIGTERM: end the process as the signal would have.
    if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
  };
  process.on('SIGTERM', onTerm);
  process.on('exit', write);
}
