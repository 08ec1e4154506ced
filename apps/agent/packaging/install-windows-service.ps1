<#
.SYNOPSIS
  Installs the Sysfleet agent on Windows and starts it at every boot as SYSTEM.

.DESCRIPTION
  Downloads $Server/agent/sysfleet-agent.cjs, checks it against $Server/agent/sysfleet-agent.cjs.sha256,
  installs it under "$env:ProgramFiles\Sysfleet", writes agent.json (server, token) into the state dir
  "$env:ProgramData\sysfleet-agent" (readable by SYSTEM and Administrators only) and registers it.

  node.exe does not speak the Service Control Manager protocol, so a plain `sc.exe create` service would
  be stopped by the SCM after its start timeout (error 1053). The agent therefore runs as a Scheduled Task
  at startup under SYSTEM, restarted by Task Scheduler if it exits, which gives the same guarantees
  without a service wrapper. Its log goes to "$env:ProgramData\sysfleet-agent\agent.log".

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
$TaskName = 'SysfleetAgent'

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
$StateDir = Join-Path $env:ProgramData 'sysfleet-agent'
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

  New-Item -ItemType Directory -Force -Path $LibDir | Out-Null
  Copy-Item -Force (Join-Path $Tmp 'sysfleet-agent.cjs') $Bundle

  New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
  # The state dir holds the host's private key: SYSTEM and Administrators only.
  & icacls.exe $StateDir /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
  $config = [ordered]@{ server = $Server }
  if ($Token) { $config.enrollmentToken = $Token }
  [IO.File]::WriteAllText((Join-Path $StateDir 'agent.json'), ($config | ConvertTo-Json) + "`n", (New-Object Text.UTF8Encoding($false)))
} finally {
  Remove-Item -Recurse -Force $Tmp -ErrorAction SilentlyContinue
}

# Made before the task starts, so the fingerprint shown is the one the agent will use.
$fingerprint = & $NodePath $Bundle fingerprint --state-dir $StateDir

$existing = Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
if ($existing) {
  Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
  Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
}
$log = Join-Path $StateDir 'agent.log'
$action = New-ScheduledTaskAction -Execute "$env:SystemRoot\System32\cmd.exe" `
  -Argument "/d /c `"`"$NodePath`" `"$Bundle`" run --state-dir `"$StateDir`" >> `"$log`" 2>&1`""
$trigger = New-ScheduledTaskTrigger -AtStartup
$taskPrincipal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable `
  -RestartCount 9999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero) -MultipleInstances IgnoreNew
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $taskPrincipal -Settings $settings `
  -Description 'Sysfleet host agent' | Out-Null
Start-ScheduledTask -TaskName $TaskName

Write-Host 'sysfleet-agent installed and started.'
Write-Host "Key fingerprint: $fingerprint"
Write-Host 'Compare it with the pending host in the web UI before approving.'
