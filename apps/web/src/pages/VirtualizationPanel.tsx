import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useAuth } from '../auth';
import { ErrorMessage } from '../components/ErrorMessage';
import { useNotify } from '../components/Notices';
import { formatDate } from '../format';
import type { Hypervisor, Virtualization } from '../types';
import { INTERFACE_PATTERN, SUBNET_PATTERN } from '../validation';

/** Network modes each hypervisor's driver supports; the first is the default. */
export const NETWORK_MODES: Record<string, string[]> = {
  kvm: ['nat', 'bridge'],
  vmm: ['local', 'bridged', 'routed'],
  wsl: ['nat'],
};
/** Modes that attach to a host interface (required for bridges, optional for routed). */
const NEEDS_INTERFACE = new Set(['bridge', 'bridged']);
const TAKES_INTERFACE = new Set(['bridge', 'bridged', 'routed']);
const TAKES_SUBNET = new Set(['nat', 'routed']);

function NetworkForm({ hostId, hypervisor }: { hostId: string; hypervisor: Hypervisor }) {
  const { t } = useTranslation();
  const notify = useNotify();
  const modes = NETWORK_MODES[hypervisor.type] ?? [];
  const current = hypervisor.networks.find((n) => n.active)?.mode;
  const [mode, setMode] = useState(current && modes.includes(current) ? current : modes[0]);
  const [iface, setIface] = useState('');
  const [subnet, setSubnet] = useState('');
  const [failure, setFailure] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  // WSL has one network mode: nothing to choose.
  if (modes.length < 2) return null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (NEEDS_INTERFACE.has(mode) && !iface.trim()) {
      setError(t('validation.required'));
      return;
    }
    if (iface.trim() && !INTERFACE_PATTERN.test(iface.trim())) {
      setError(t('validation.interface'));
      return;
    }
    if (subnet.trim() && !SUBNET_PATTERN.test(subnet.trim())) {
      setError(t('validation.subnet'));
      return;
    }
    setFailure(null);
    try {
      const job = await api.configureNetwork(hostId, hypervisor.type, {
        mode,
        ...(TAKES_INTERFACE.has(mode) && iface.trim() ? { interface: iface.trim() } : {}),
        ...(TAKES_SUBNET.has(mode) && subnet.trim() ? { subnet: subnet.trim() } : {}),
      });
      notify(t('virt.networkQueued'), job.id);
    } catch (err) {
      setFailure(err);
    }
  };

  return (
    <form className="inline-form" onSubmit={submit} noValidate aria-label={t('virt.network')}>
      <label>
        {t('virt.networkMode')}
        <select value={mode} onChange={(e) => setMode(e.target.value)}>
          {modes.map((m) => (
            <option key={m} value={m}>
              {t(`virt.mode.${m}`)}
            </option>
          ))}
        </select>
      </label>
      {TAKES_INTERFACE.has(mode) && (
        <label>
          {t('virt.interface')}
          <input value={iface} onChange={(e) => setIface(e.target.value)} aria-invalid={Boolean(error)} />
        </label>
      )}
      {TAKES_SUBNET.has(mode) && (
        <label>
          {t('virt.subnet')}
          <input value={subnet} placeholder="10.0.100.0/24" onChange={(e) => setSubnet(e.target.value)} aria-invalid={Boolean(error)} />
        </label>
      )}
      <button type="submit">{t('virt.applyNetwork')}</button>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
      <ErrorMessage error={failure} />
    </form>
  );
}

function Flag({ ok, label }: { ok: boolean; label: string }) {
  return (
    <li className={ok ? 'flag ok' : 'flag no'}>
      <span aria-hidden="true">{ok ? '✓' : '✗'}</span> {label}
    </li>
  );
}

function HypervisorCard({ hostId, hypervisor, canAct }: { hostId: string; hypervisor: Hypervisor; canAct: boolean }) {
  const { t } = useTranslation();
  const notify = useNotify();
  const [failure, setFailure] = useState<unknown>(null);
  const h = hypervisor;
  const supported = h.cpuSupported && h.kernelSupported;
  const needsWork = h.needsInstall || h.needsEnable || !h.initialized;
  const initialize = async () => {
    setFailure(null);
    try {
      const job = await api.initializeHypervisor(hostId, h.type);
      notify(t('virt.initQueued', { type: t(`hypervisor.${h.type}`) }), job.id);
    } catch (err) {
      setFailure(err);
    }
  };
  return (
    <article className="card hypervisor">
      <h3>
        {t(`hypervisor.${h.type}`)} {h.version && <span className="muted small">{h.version}</span>}
      </h3>
      {h.needsReboot && (
        <p className="warning" role="note">
          {t('virt.needsReboot')}
        </p>
      )}
      <ul className="flags">
        <Flag ok={h.cpuSupported} label={t('virt.cpuSupported')} />
        <Flag ok={h.kernelSupported} label={t('virt.kernelSupported')} />
        <Flag ok={h.installed} label={t('virt.installed')} />
        <Flag ok={h.enabled} label={t('virt.enabled')} />
        <Flag ok={h.running} label={t('virt.running')} />
        <Flag ok={h.initialized} label={t('virt.initialized')} />
      </ul>
      {h.details.length > 0 && (
        <ul className="details small">
          {h.details.map((d, i) => (
            <li key={i}>{d}</li>
          ))}
        </ul>
      )}
      {h.networks.length > 0 && (
        <table className="compact">
          <caption>{t('virt.networks')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('common.name')}</th>
              <th scope="col">{t('virt.networkMode')}</th>
              <th scope="col">{t('virt.active')}</th>
              <th scope="col">{t('virt.autostart')}</th>
            </tr>
          </thead>
          <tbody>
            {h.networks.map((n) => (
              <tr key={n.name}>
                <td>{n.name}</td>
                <td>{t(`virt.mode.${n.mode}`, { defaultValue: n.mode })}</td>
                <td>{n.active ? t('common.yes') : t('common.no')}</td>
                <td>{n.autostart ? t('common.yes') : t('common.no')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!supported && <p className="muted">{t('virt.unsupported')}</p>}
      <ErrorMessage error={failure} />
      {canAct && supported && needsWork && !h.needsReboot && (
        <button type="button" className="primary" onClick={() => void initialize()}>
          {h.needsInstall || !h.installed ? t('virt.initialize') : t('virt.enable')}
        </button>
      )}
      {canAct && h.initialized && <NetworkForm hostId={hostId} hypervisor={h} />}
    </article>
  );
}

export function VirtualizationPanel({ hostId, virt }: { hostId: string; virt: { data: Virtualization | null | undefined; error: Error | undefined } }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const notify = useNotify();
  const [failure, setFailure] = useState<unknown>(null);
  const check = async () => {
    setFailure(null);
    try {
      const job = await api.checkVirtualization(hostId);
      notify(t('virt.checkQueued'), job.id);
    } catch (err) {
      setFailure(err);
    }
  };
  // The agent reports every hypervisor type; only the ones of the host's platform can be used.
  const available = (virt.data?.hypervisors ?? []).filter((h) => h.available);
  return (
    <section aria-labelledby="virt-title">
      <div className="section-head">
        <h2 id="virt-title">{t('virt.title')}</h2>
        {can('operator') && (
          <button type="button" onClick={() => void check()}>
            {t('virt.check')}
          </button>
        )}
      </div>
      <ErrorMessage error={virt.error ?? failure} />
      {virt.data === null && <p>{t('virt.notChecked')}</p>}
      {virt.data && (
        <>
          <p className="muted small">{t('virt.checkedAt', { at: formatDate(virt.data.checkedAt) })}</p>
          {available.length === 0 && <p>{t('virt.none')}</p>}
          <div className="cards">
            {available.map((h) => (
              <HypervisorCard key={h.type} hostId={hostId} hypervisor={h} canAct={can('operator')} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
