<#
.SYNOPSIS
  Installs the Sysfleet agent on Windows as the service SysfleetAgent (automatic start, LocalSystem).

.DESCRIPTION
  Downloads $Server/agent/sysfleet-agent.cjs, checks it against $Server/agent/sysfleet-agent.cjs.sha256,
  installs it under "$env:ProgramFiles\Sysfleet", writes agent.json (server, token) into the state dir
  "$env:ProgramData\sysfleet-agent" (readable by SYSTEM and Administrators only) and registers the service.

  node.exe does not speak the Service Control Manager protocol, so a service that ran node.exe directly
  would be stopped by the SCM after its start timeout (error 1053). The script therefore compiles a small
  service wrapper (SysfleetAgentService.exe, C# on System.ServiceProcess.ServiceBase, with the .NET
  Framework compiler that Windows PowerShell already has: nothing is downloaded). Its OnStart starts
  node.exe with the bundle, OnStop ends it. When node.exe exits on its own, the wrapper stops with an
  error and the SCM's recovery actions start the service again a minute later. The agent's output goes
  to "$env:ProgramData\sysfleet-agent\agent.log".

  Run it with Windows PowerShell 5.1 (powershell.exe), not PowerShell 7 (pwsh): the wrapper is compiled
  for the .NET Framework. Running it again upgrades the agent and keeps its key. An agent installed by
  an earlier version of this script as the scheduled task SysfleetAgent is moved to the service.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install-windows-service.ps1 -Server https://fleet.example.org -Token TOKEN
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string]$Server,
  [string]$Token = '',
  [string]$NodePath = ''
)
$ErrorActionPreference = 'Stop'
$ServiceName = 'SysfleetAgent'
# Earlier versions of this script ran the agent as a scheduled task of this name.
$LegacyTaskName = 'SysfleetAgent'

if ($PSVersionTable.PSEdition -eq 'Core') { throw 'Run this script with Windows PowerShell (powershell.exe), not pwsh: the service wrapper is compiled for the .NET Framework.' }

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) { throw 'Run this script as Administrator.' }

$Server = $Server.TrimEnd('/')
if ($Server -notmatch '^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:[0-9]+)?$') { throw "Server must be http(s)://host[:port], got: $Server" }
if ($Token -and $Token -notmatch '^[A-Za-z0-9._~+/=-]{16,256}$') { throw 'Token has unexpected characters or length.' }

if (-not $NodePath) { $NodePath = (Get-Command node.exe -ErrorAction SilentlyContinue).Source }
if (-not $NodePath -or -not (Test-Path $NodePath)) { throw 'Node.js >= 18 is needed (winget install OpenJS.NodeJS.LTS), or pass -NodePath.' }
$major = [int](& $NodePath -p 'process.versions.node.split(".")[0]')
if ($major -lt 18) { throw "Node.js >= 18 is needed, found $(& $NodePath --version)" }

$LibDir = Join-Path $env:ProgramFiles 'Sysfleet'
$Bundle = Join-Path $LibDir 'sysfleet-agent.cjs'
$ServiceExe = Join-Path $LibDir 'SysfleetAgentService.exe'
$StateDir = Join-Path $env:ProgramData 'sysfleet-agent'

# The service wrapper, compiled by Add-Type below (C# 5: what the .NET Framework's compiler takes).
# Its command line (the service's ImagePath) is: SysfleetAgentService.exe NODE BUNDLE STATE_DIR.
$WrapperSource = @'
using System;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.ServiceProcess;

namespace Sysfleet
{
    public class AgentService : ServiceBase
    {
        // ERROR_PROCESS_ABORTED: a non-zero exit code makes the SCM run the recovery actions (failureflag 1).
        private const int AgentDied = 1067;
        private readonly string node;
        private readonly string bundle;
        private readonly string stateDir;
        private readonly object sync = new object();
        private StreamWriter log;
        private Process agent;
        private bool stopping;

        public AgentService(string node, string bundle, string stateDir)
        {
            this.node = node;
            this.bundle = bundle;
            this.stateDir = stateDir.TrimEnd('\\');
            ServiceName = "SysfleetAgent";
            CanStop = true;
            CanShutdown = true;
            AutoLog = true;
        }

        public static int Main(string[] args)
        {
            if (args.Length != 3)
            {
                Console.Error.WriteLine("usage: SysfleetAgentService.exe NODE BUNDLE STATE_DIR (started by the Service Control Manager)");
                return 2;
            }
            ServiceBase.Run(new AgentService(args[0], args[1], args[2]));
            return 0;
        }

        protected override void OnStart(string[] startArgs)
        {
            FileStream file = new FileStream(Path.Combine(stateDir, "agent.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            log = new StreamWriter(file);
            log.AutoFlush = true;
            ProcessStartInfo start = new ProcessStartInfo(node, "\"" + bundle + "\" run --state-dir \"" + stateDir + "\"");
            start.UseShellExecute = false;
            start.CreateNoWindow = true;
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.WorkingDirectory = stateDir;
            agent = new Process();
            agent.StartInfo = start;
            agent.EnableRaisingEvents = true;
            agent.OutputDataReceived += delegate(object sender, DataReceivedEventArgs e) { Write(e.Data); };
            agent.ErrorDataReceived += delegate(object sender, DataReceivedEventArgs e) { Write(e.Data); };
            agent.Exited += OnAgentExited;
            agent.Start();
            agent.BeginOutputReadLine();
            agent.BeginErrorReadLine();
            Note("started node.exe, pid " + agent.Id);
        }

        protected override void OnStop()
        {
            StopAgent();
        }

        protected override void OnShutdown()
        {
            StopAgent();
        }

        // node.exe has no SIGTERM on Windows: it is ended at once. The agent's journal makes that safe
        // (a job it was running is resumed or reported on the next start).
        private void StopAgent()
        {
            lock (sync) { stopping = true; }
            try
            {
                if (agent != null && !agent.HasExited)
                {
                    agent.Kill();
                    agent.WaitForExit(10000);
                }
            }
            catch (InvalidOperationException) { }
            catch (Win32Exception) { }
            Note("service stopped");
            lock (sync)
            {
                if (log != null) log.Dispose();
                log = null;
            }
        }

        private void OnAgentExited(object sender, EventArgs e)
        {
            lock (sync)
            {
                if (stopping) return;
                stopping = true;
            }
            Note("node.exe exited with code " + agent.ExitCode + "; stopping the service so the SCM restarts it");
            ExitCode = AgentDied;
            Stop();
        }

        private void Note(string message)
        {
            Write(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'") + " INFO  service: " + message);
        }

        private void Write(string line)
        {
            if (line == null) return;
            lock (sync)
            {
                if (log != null) log.WriteLine(line);
            }
        }
    }
}
'@

$Tmp = Join-Path ([IO.Path]::GetTempPath()) ("sysfleet-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $Tmp | Out-Null
try {
  [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
  Write-Host "Downloading $Server/agent/sysfleet-agent.cjs"
  Invoke-WebRequest -UseBasicParsing -Uri "$Server/agent/sysfleet-agent.cjs" -OutFile (Join-Path $Tmp 'sysfleet-agent.cjs')
  $want = ((Invoke-WebRequest -UseBasicParsing -Uri "$Server/agent/sysfleet-agent.cjs.sha256").Content -split '\s+')[0].ToLower()
  $got = (Get-FileHash -Algorithm SHA256 (Join-Path $Tmp 'sysfleet-agent.cjs')).Hash.ToLower()
  if ($want -notmatch '^[0-9a-f]{64}$') { throw "The server's checksum file is malformed." }
  if ($want -ne $got) { throw "Checksum mismatch: expected $want, got $got; nothing was installed." }

  # Stop whatever runs the agent now: the service (its wrapper exe is about to be replaced), a scheduled
  # task of an earlier install, and any node.exe still running the bundle (one agent per state dir).
  $existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
  if ($existing -and $existing.Status -ne 'Stopped') {
    Stop-Service -Name $ServiceName -Force
    $existing.WaitForStatus('Stopped', (New-TimeSpan -Seconds 30))
  }
  if (Get-ScheduledTask -TaskName $LegacyTaskName -ErrorAction SilentlyContinue) {
    Stop-ScheduledTask -TaskName $LegacyTaskName -ErrorAction SilentlyContinue
    Unregister-ScheduledTask -TaskName $LegacyTaskName -Confirm:$false
  }
  Get-CimInstance Win32_Process -Filter "Name = 'node.exe'" | Where-Object { $_.CommandLine -like "*$Bundle*" } |
    ForEach-Object { Stop-Process -Id $_.ProcessId -Force -ErrorAction SilentlyContinue }

  New-Item -ItemType Directory -Force -Path $LibDir | Out-Null
  Copy-Item -Force (Join-Path $Tmp 'sysfleet-agent.cjs') $Bundle
  if (Test-Path $ServiceExe) { Remove-Item -Force $ServiceExe }
  Add-Type -TypeDefinition $WrapperSource -Language CSharp -ReferencedAssemblies 'System.ServiceProcess' `
    -OutputAssembly $ServiceExe -OutputType ConsoleApplication

  New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
  # The state dir holds the host's private key: SYSTEM and Administrators only.
  & icacls.exe $StateDir /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
  $config = [ordered]@{ server = $Server }
  if ($Token) { $config.enrollmentToken = $Token }
  [IO.File]::WriteAllText((Join-Path $StateDir 'agent.json'), ($config | ConvertTo-Json) + "`n", (New-Object Text.UTF8Encoding($false)))
} finally {
  Remove-Item -Recurse -Force $Tmp -ErrorAction SilentlyContinue
}

# Made before the service starts, so the fingerprint shown is the one the agent will use.
$fingerprint = & $NodePath $Bundle fingerprint --state-dir $StateDir

# The ImagePath: the wrapper and its three arguments (see Main in $WrapperSource).
$BinaryPath = "`"$ServiceExe`" `"$NodePath`" `"$Bundle`" `"$StateDir`""
$service = Get-CimInstance Win32_Service -Filter "Name = '$ServiceName'"
if ($service) {
  $changed = Invoke-CimMethod -InputObject $service -MethodName Change -Arguments @{ PathName = $BinaryPath; StartMode = 'Automatic' }
  if ($changed.ReturnValue -ne 0) { throw "Updating the service $ServiceName failed (Win32_Service.Change returned $($changed.ReturnValue))." }
} else {
  New-Service -Name $ServiceName -BinaryPathName $BinaryPath -DisplayName 'Sysfleet agent' -Description 'Sysfleet host agent' -StartupType Automatic | Out-Null
}
# Recovery: restart a minute after every failure, also when the wrapper stops with an error (node.exe exited).
& sc.exe failure $ServiceName reset= 86400 actions= restart/60000/restart/60000/restart/60000 | Out-Null
if ($LASTEXITCODE -ne 0) { throw "sc.exe failure $ServiceName failed with $LASTEXITCODE" }
& sc.exe failureflag $ServiceName 1 | Out-Null
if ($LASTEXITCODE -ne 0) { throw "sc.exe failureflag $ServiceName failed with $LASTEXITCODE" }
Start-Service -Name $ServiceName

Write-Host 'sysfleet-agent installed and started.'
Write-Host "Key fingerprint: $fingerprint"
Write-Host 'Compare it with the pending host in the web UI before approving.'
