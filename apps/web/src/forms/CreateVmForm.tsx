import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { CreateChildBody } from '../api';
import { Field } from '../components/Field';
import { ErrorMessage } from '../components/ErrorMessage';
import type { Distribution, SshKey } from '../types';
import {
  LIMITS, availableFigure, hasErrors, parseWholeNumber, splitKeys, validateCreateVm,
  type CreateVmField, type CreateVmInput, type Errors, type VmCapacity,
} from '../validation';

export interface CreateVmFormProps {
  childType: string;
  distributions: Distribution[];
  sshKeys: SshKey[];
  /** From the server's capacity endpoint; undefined while it loads or when it could not be loaded. */
  capacity: VmCapacity | undefined;
  /** Why the capacity could not be loaded: the form still works and the server checks the size. */
  capacityError?: unknown;
  onSubmit: (body: CreateChildBody) => Promise<void>;
  onCancel: () => void;
}

const suggestHostname = (name: string) => name.toLowerCase().replace(/_/g, '-');

const EMPTY: CreateVmInput = {
  distributionId: '', name: '', hostname: '', vcpus: '2', memoryMb: '2048', diskGb: '20',
  username: '', password: '', sshPublicKeys: '', sshKeyIds: [],
};

/** "Create VM": the server's rules are checked here first, including whether the VM fits the host. */
export function CreateVmForm({ childType, distributions, sshKeys, capacity, capacityError, onSubmit, onCancel }: CreateVmFormProps) {
  const { t } = useTranslation();
  const choices = distributions.filter((d) => d.enabled && d.childType === childType);
  const [input, setInput] = useState<CreateVmInput>(() => withDistribution(EMPTY, choices[0]));
  const [errors, setErrors] = useState<Errors<CreateVmField>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Off unless the operator asks: a failed create then leaves what it made on the host.
  const [keepOnFailure, setKeepOnFailure] = useState(false);
  const keepHintId = useId();
  const set = <K extends CreateVmField>(key: K, value: CreateVmInput[K]) => {
    setInput((prev) => ({ ...prev, [key]: value }));
    // An edited field's old message no longer applies; the next submit checks it again.
    setErrors((prev) => ({ ...prev, [key]: undefined }));
  };

  function withDistribution(base: CreateVmInput, dist: Distribution | undefined): CreateVmInput {
    if (!dist) return base;
    return {
      ...base,
      distributionId: dist.id,
      vcpus: String(dist.defaultVcpus),
      memoryMb: String(dist.defaultMemoryMb),
      diskGb: String(dist.defaultDiskGb),
    };
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateCreateVm(input, capacity ?? {});
    setErrors(found);
    if (hasErrors(found)) return;
    setBusy(true);
    setFailure(null);
    const keys = splitKeys(input.sshPublicKeys);
    // keepOnFailure is sent only when asked for, as password and keys are.
    const body: CreateChildBody = {
      childType,
      distributionId: input.distributionId,
      name: input.name,
      hostname: input.hostname,
      vcpus: parseWholeNumber(input.vcpus),
      memoryMb: parseWholeNumber(input.memoryMb),
      diskGb: parseWholeNumber(input.diskGb),
      username: input.username,
      ...(input.password ? { password: input.password } : {}),
      ...(keys.length ? { sshPublicKeys: keys } : {}),
      ...(input.sshKeyIds.length ? { sshKeyIds: input.sshKeyIds } : {}),
      ...(keepOnFailure ? { keepOnFailure: true } : {}),
    };
    try {
      await onSubmit(body);
    } catch (err) {
      setFailure(err);
      setBusy(false);
    }
  };

  const memoryAvailable = availableFigure(capacity?.availableMemoryMb);
  const diskAvailable = availableFigure(capacity?.availableDiskGb);

  if (choices.length === 0) {
    return (
      <div className="stack">
        <p>{t('vm.noDistributions')}</p>
        <div className="actions">
          <button type="button" onClick={onCancel}>
            {t('common.close')}
          </button>
        </div>
      </div>
    );
  }

  return (
    <form onSubmit={submit} noValidate className="form-grid" aria-label={t('vm.create')}>
      <CapacityLine capacity={capacity} error={capacityError} />
      <ErrorMessage error={failure} />
      <Field label={t('vm.distribution')} error={errors.distributionId}>
        {(p) => (
          <select
            {...p}
            value={input.distributionId}
            onChange={(e) => setInput((prev) => withDistribution(prev, choices.find((d) => d.id === e.target.value)))}
          >
            {choices.map((d) => (
              <option key={d.id} value={d.id}>
                {d.displayName}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t('vm.name')} error={errors.name} hint={t('vm.nameHint')}>
        {(p) => (
          <input
            {...p}
            value={input.name}
            onChange={(e) => {
              const name = e.target.value;
              // Suggest the VM name as host name until the user types their own.
              setInput((prev) => ({
                ...prev,
                name,
                hostname: prev.hostname === suggestHostname(prev.name) ? suggestHostname(name) : prev.hostname,
              }));
            }}
          />
        )}
      </Field>
      <Field label={t('vm.hostname')} error={errors.hostname}>
        {(p) => <input {...p} value={input.hostname} onChange={(e) => set('hostname', e.target.value)} />}
      </Field>
      <Field label={t('vm.vcpus')} error={errors.vcpus} hint={t('vm.rangeHint', LIMITS.vcpus)}>
        {(p) => <input {...p} inputMode="numeric" value={input.vcpus} onChange={(e) => set('vcpus', e.target.value)} />}
      </Field>
      <Field label={t('vm.memoryMb')} error={errors.memoryMb} hint={memoryAvailable === undefined ? undefined : t('vm.atMostMb', { value: memoryAvailable })}>
        {(p) => <input {...p} inputMode="numeric" value={input.memoryMb} onChange={(e) => set('memoryMb', e.target.value)} />}
      </Field>
      <Field label={t('vm.diskGb')} error={errors.diskGb} hint={diskAvailable === undefined ? undefined : t('vm.atMostGb', { value: diskAvailable })}>
        {(p) => <input {...p} inputMode="numeric" value={input.diskGb} onChange={(e) => set('diskGb', e.target.value)} />}
      </Field>
      <Field label={t('vm.username')} error={errors.username} hint={t('vm.usernameHint')}>
        {(p) => <input {...p} autoComplete="off" value={input.username} onChange={(e) => set('username', e.target.value)} />}
      </Field>
      <Field label={t('vm.password')} error={errors.password} hint={t('vm.passwordHint')}>
        {(p) => (
          <input {...p} type="password" autoComplete="new-password" value={input.password} onChange={(e) => set('password', e.target.value)} />
        )}
      </Field>
      {sshKeys.length > 0 && (
        <fieldset className="full">
          <legend>{t('vm.savedKeys')}</legend>
          {sshKeys.map((key) => (
            <label key={key.id} className="checkbox">
              <input
                type="checkbox"
                checked={input.sshKeyIds.includes(key.id)}
                onChange={(e) =>
                  set('sshKeyIds', e.target.checked ? [...input.sshKeyIds, key.id] : input.sshKeyIds.filter((k) => k !== key.id))
                }
              />
              {key.name}
            </label>
          ))}
        </fieldset>
      )}
      <div className="full">
        <Field label={t('vm.sshPublicKeys')} error={errors.sshPublicKeys} hint={t('vm.sshPublicKeysHint')}>
          {(p) => <textarea {...p} rows={3} value={input.sshPublicKeys} onChange={(e) => set('sshPublicKeys', e.target.value)} />}
        </Field>
      </div>
      <div className="field full">
        <label className="checkbox">
          <input type="checkbox" checked={keepOnFailure} aria-describedby={keepHintId} onChange={(e) => setKeepOnFailure(e.target.checked)} />
          {t('vm.keepOnFailure')}
        </label>
        <small id={keepHintId} className="hint">
          {t('vm.keepOnFailureHint')}
        </small>
      </div>
      <div className="actions full">
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {t('vm.create')}
        </button>
      </div>
    </form>
  );
}

/** What the host has available for this VM, and the reserve it keeps, as the server counts them. */
function CapacityLine({ capacity, error }: { capacity: VmCapacity | undefined; error: unknown }) {
  const { t } = useTranslation();
  if (error) {
    const message = error instanceof Error ? error.message : String(error);
    return <p className="capacity warning full">{t('vm.capacityFailed', { message })}</p>;
  }
  if (!capacity) return <p className="capacity muted full">{t('vm.capacityLoading')}</p>;
  const memory = availableFigure(capacity.availableMemoryMb);
  const disk = availableFigure(capacity.availableDiskGb);
  const unknown = t('vm.capacityUnknown');
  return (
    <p className="capacity full" data-testid="vm-capacity">
      {t('vm.capacity', {
        memory: memory === undefined ? unknown : `${memory} MiB`,
        disk: disk === undefined ? unknown : `${disk} GiB`,
        reserveMemory: capacity.reserveMemoryMb ?? 0,
        reserveDisk: capacity.reserveDiskGb ?? 0,
      })}
    </p>
  );
}
