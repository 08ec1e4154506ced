import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api, type DistributionBody } from '../api';
import { useAuth } from '../auth';
import { useResource } from '../hooks';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { useConfirm } from '../components/Confirm';
import { HYPERVISOR_TYPES, type Distribution } from '../types';
import {
  hasErrors, parseWholeNumber, splitKeys, validateDistribution,
  type DistributionField, type DistributionInput, type Errors,
} from '../validation';

function toInput(d?: Distribution): DistributionInput {
  return {
    childType: d?.childType ?? 'kvm',
    name: d?.name ?? '',
    version: d?.version ?? '',
    displayName: d?.displayName ?? '',
    installIdentifier: d?.installIdentifier ?? '',
    imageUrl: d?.imageUrl ?? '',
    sha256: d?.sha256 ?? '',
    checksumUrl: d?.checksumUrl ?? '',
    defaultVcpus: String(d?.defaultVcpus ?? 2),
    defaultMemoryMb: String(d?.defaultMemoryMb ?? 2048),
    defaultDiskGb: String(d?.defaultDiskGb ?? 20),
    installCommands: (d?.installCommands ?? []).join('\n'),
    enabled: d?.enabled ?? true,
    appliance: d?.appliance ?? false,
    firmware: d?.firmware ?? 'bios',
    notes: d?.notes ?? '',
  };
}

function toBody(input: DistributionInput): DistributionBody {
  const optional = (v: string) => (v.trim() ? v.trim() : null);
  return {
    childType: input.childType as DistributionBody['childType'],
    name: input.name.trim(),
    version: input.version.trim(),
    displayName: input.displayName.trim(),
    installIdentifier: input.installIdentifier.trim(),
    imageUrl: optional(input.imageUrl),
    sha256: optional(input.sha256)?.toLowerCase() ?? null,
    checksumUrl: optional(input.checksumUrl),
    defaultVcpus: parseWholeNumber(input.defaultVcpus),
    defaultMemoryMb: parseWholeNumber(input.defaultMemoryMb),
    defaultDiskGb: parseWholeNumber(input.defaultDiskGb),
    // Commands are templates; blank lines mean nothing.
    installCommands: splitKeys(input.installCommands),
    enabled: input.enabled,
    appliance: input.appliance,
    firmware: input.firmware as NonNullable<DistributionBody['firmware']>,
    notes: optional(input.notes),
  };
}

function DistributionDialog({ existing, onClose, onSaved }: { existing?: Distribution; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [input, setInput] = useState(() => toInput(existing));
  const [errors, setErrors] = useState<Errors<DistributionField>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const set = <K extends DistributionField>(key: K, value: DistributionInput[K]) => setInput((prev) => ({ ...prev, [key]: value }));
  const text = (key: Exclude<DistributionField, 'enabled' | 'appliance' | 'firmware'>, label: string, extra: { inputMode?: 'numeric' } = {}) => (
    <Field label={label} error={errors[key]}>
      {(p) => <input {...p} {...extra} value={input[key]} onChange={(e) => set(key, e.target.value)} />}
    </Field>
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateDistribution(input);
    setErrors(found);
    if (hasErrors(found)) return;
    setFailure(null);
    try {
      if (existing) await api.updateDistribution(existing.id, toBody(input));
      else await api.createDistribution(toBody(input));
      onSaved();
      onClose();
    } catch (err) {
      setFailure(err);
    }
  };
  return (
    <Dialog title={existing ? t('dist.editTitle', { name: existing.displayName }) : t('dist.add')} onClose={onClose} wide>
      <form onSubmit={submit} noValidate className="form-grid">
        <ErrorMessage error={failure} />
        <Field label={t('dist.childType')} error={errors.childType}>
          {(p) => (
            <select {...p} value={input.childType} onChange={(e) => set('childType', e.target.value)}>
              {HYPERVISOR_TYPES.map((type) => (
                <option key={type} value={type}>
                  {t(`hypervisor.${type}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('dist.firmware')} hint={t('dist.firmwareHint')} error={errors.firmware}>
          {(p) => (
            <select {...p} value={input.firmware} onChange={(e) => set('firmware', e.target.value)}>
              <option value="bios">BIOS</option>
              <option value="uefi">UEFI</option>
            </select>
          )}
        </Field>
        {text('name', t('common.name'))}
        {text('version', t('dist.version'))}
        {text('displayName', t('dist.displayName'))}
        {text('installIdentifier', t('dist.installIdentifier'))}
        {text('imageUrl', t('dist.imageUrl'))}
        {text('sha256', t('dist.sha256'))}
        {text('checksumUrl', t('dist.checksumUrl'))}
        {text('defaultVcpus', t('vm.vcpus'), { inputMode: 'numeric' })}
        {text('defaultMemoryMb', t('vm.memoryMb'), { inputMode: 'numeric' })}
        {text('defaultDiskGb', t('vm.diskGb'), { inputMode: 'numeric' })}
        <div className="full">
          <Field label={t('dist.installCommands')} hint={t('dist.installCommandsHint')} error={errors.installCommands}>
            {(p) => <textarea {...p} rows={5} value={input.installCommands} onChange={(e) => set('installCommands', e.target.value)} />}
          </Field>
        </div>
        <div className="full">
          <Field label={t('dist.notes')}>
            {(p) => <textarea {...p} rows={2} value={input.notes} onChange={(e) => set('notes', e.target.value)} />}
          </Field>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={input.enabled} onChange={(e) => set('enabled', e.target.checked)} /> {t('dist.enabled')}
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={input.appliance} onChange={(e) => set('appliance', e.target.checked)} /> {t('dist.appliance')}
        </label>
        <div className="actions full">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary">
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function DistributionsPage() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const confirm = useConfirm();
  const [params, setParams] = useSearchParams();
  const childType = params.get('childType') ?? '';
  const dists = useResource(() => api.distributions(childType ? { childType } : {}), [childType]);
  const [editing, setEditing] = useState<Distribution | 'new' | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const admin = can('admin');

  const remove = async (d: Distribution) => {
    const ok = await confirm({
      title: t('dist.deleteTitle', { name: d.displayName }),
      message: t('dist.deleteMessage'),
      confirmLabel: t('common.delete'),
    });
    if (!ok) return;
    setFailure(null);
    try {
      await api.deleteDistribution(d.id);
      dists.reload();
    } catch (err) {
      setFailure(err);
    }
  };

  return (
    <section>
      <div className="section-head">
        <h1>{t('dist.title')}</h1>
        {admin && (
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            {t('dist.add')}
          </button>
        )}
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('dist.childType')}
          <select value={childType} onChange={(e) => setParams(e.target.value ? { childType: e.target.value } : {})}>
            <option value="">{t('common.all')}</option>
            {HYPERVISOR_TYPES.map((type) => (
              <option key={type} value={type}>
                {t(`hypervisor.${type}`)}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorMessage error={dists.error ?? failure} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('dist.displayName')}</th>
              <th scope="col">{t('dist.childType')}</th>
              <th scope="col">{t('dist.version')}</th>
              <th scope="col">{t('dist.defaults')}</th>
              <th scope="col">{t('dist.enabled')}</th>
              {admin && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {dists.data?.map((d) => (
              <tr key={d.id}>
                <td>
                  {d.displayName}
                  <div className="muted small">{d.name}</div>
                </td>
                <td>{t(`hypervisor.${d.childType}`)}</td>
                <td>{d.version}</td>
                <td className="small">{t('vm.resourceSummary', { vcpus: d.defaultVcpus, memory: d.defaultMemoryMb, disk: d.defaultDiskGb })}</td>
                <td>{d.enabled ? t('common.yes') : t('common.no')}</td>
                {admin && (
                  <td className="row-actions">
                    <button type="button" onClick={() => setEditing(d)}>
                      {t('common.edit')}
                    </button>
                    <button type="button" className="danger" onClick={() => void remove(d)}>
                      {t('common.delete')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {dists.data && dists.data.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t('dist.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {editing && (
        <DistributionDialog existing={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} onSaved={dists.reload} />
      )}
    </section>
  );
}
