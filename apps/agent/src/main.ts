process.stdout.write('sysfleet-agent: not built yet\n');
