// Sums the tiers' results in test/results and prints the one closing line CI reads.
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
let passed = 0;
let failed = 0;
const rows = [];
for (const file of fs.readdirSync(dir).sort()) {
  const data = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  if (file.endsWith('.jest.json')) {
    // A suite that failed to run (syntax error, hook timeout) has no failing test but must count.
    const broken = data.testResults.filter((r) => r.status === 'failed' && r.assertionResults.every((a) => a.status !== 'failed')).length;
    const f = data.numFailedTests + broken;
    passed += data.numPassedTests;
    failed += f;
    rows.push([file.replace('.jest.json', ''), data.numPassedTests, f, data.numPendingTests]);
    for (const r of data.testResults) {
      if (r.status !== 'failed') continue;
      const names = r.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName);
      console.log(`FAILED ${path.relative(process.cwd(), r.name)}${names.length ? ': ' + names.join(' | ') : ': ' + (r.message || '').split('\n').slice(0, 3).join(' ')}`);
    }
  } else if (file.endsWith('.check.json')) {
    passed += data.passed;
    failed += data.failed;
    rows.push([data.name, data.passed, data.failed, 0]);
    if (data.failed) console.log(`FAILED ${data.name}${data.detail ? ': ' + data.detail : ''}`);
  }
}
console.log('\n tier         passed  failed  skipped');
for (const [n, p, f, s] of rows) console.log(` ${n.padEnd(12)} ${String(p).padStart(6)}  ${String(f).padStart(6)}  ${String(s).padStart(7)}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
