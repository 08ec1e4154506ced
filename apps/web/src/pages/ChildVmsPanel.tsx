import { useState } from 'react';
import { Link } from 'react-router-dom';
import { useTranslation } from 'react-i18next';
import { api, type CreateChildBody } from '../api';
import { useAuth } from '../auth';
import { useResource } from '../hooks';
import { Badge } from '../components/Badge';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { useConfirm } from '../components/Confirm';
import { useNotify } from '../components/Notices';
import { CreateVmForm } from '../forms/CreateVmForm';
import type { ChildVm, Virtualization } from '../types';

function CreateVmDialog({ hostId, childType, onClose }: { hostId: string; childType: string; onClose: () => void }) {
  const { t } = useTranslation();
  const notify = useNotify();
  const data = useResource(
    () => Promise.all([api.distributions({ childType, enabled: true }), api.sshKeys()]),
    [childType],
  );
  // Asked afresh each time the dialog opens: what the server will accept now, after its reserve and running creates.
  const capacity = useResource(() => api.childCapacity(hostId, childType), [hostId, childType]);
  const submit = async (body: CreateChildBody) => {
    const job = await api.createChild(hostId, body);
    notify(t('vm.createQueued', { name: body.name }), job.id);
    onClose();
  };
  return (
    <Dialog title={t('vm.createTitle', { type: t(`hypervisor.${childType}`) })} onClose={onClose} wide>
      <ErrorMessage error={data.error} />
      {data.data ? (
        <CreateVmForm
          childType={childType}
          distributions={data.data[0]}
          sshKeys={data.data[1]}
          capacity={capacity.data}
          capacityError={capacity.error}
          onSubmit={submit}
          onCancel={onClose}
        />
      ) : (
        !data.error && <p>{t('common.loading')}</p>
      )}
    </Dialog>
  );
}

export function ChildVmsPanel({
  hostId,
  vms,
  virt,
}: {
  hostId: string;
  vms: { data: ChildVm[] | undefined; error: Error | undefined };
  virt: { data: Virtualization | null | undefined };
}) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const confirm = useConfirm();
  const notify = useNotify();
  const [failure, setFailure] = useState<unknown>(null);
  const [creating, setCreating] = useState<string | null>(null);
  const ready = (virt.data?.hypervisors ?? []).filter((h) => h.initialized && h.running !== false);
  const operator = can('operator');

  const run = async (label: string, action: () => Promise<{ id: string }>) => {
    setFailure(null);
    try {
      const job = await action();
      notify(label, job.id);
    } catch (err) {
      setFailure(err);
    }
  };
  const forceStop = async (vm: ChildVm) => {
    const ok = await confirm({
      title: t('vm.forceStopTitle', { name: vm.name }),
      message: t('vm.forceStopMessage'),
      confirmLabel: t('vm.forceStop'),
    });
    if (ok) await run(t('vm.actionQueued', { name: vm.name }), () => api.childAction(hostId, vm.id, 'stop', true));
  };
  const remove = async (vm: ChildVm) => {
    const result = await confirm({
      title: t('vm.deleteTitle', { name: vm.name }),
      message: t('vm.deleteMessage'),
      confirmLabel: t('common.delete'),
      option: t('vm.deleteDisk'),
      optionDefault: true,
    });
    if (result) await run(t('vm.actionQueued', { name: vm.name }), () => api.deleteChild(hostId, vm.id, result.option));
  };

  return (
    <section aria-labelledby="children-title">
      <div className="section-head">
        <h2 id="children-title">{t('vm.title')}</h2>
        {operator &&
          ready.map((h) => (
            <button key={h.type} type="button" className="primary" onClick={() => setCreating(h.type)}>
              {ready.length > 1 ? t('vm.createOfType', { type: t(`hypervisor.${h.type}`) }) : t('vm.create')}
            </button>
          ))}
      </div>
      <ErrorMessage error={vms.error ?? failure} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.name')}</th>
              <th scope="col">{t('vm.state')}</th>
              <th scope="col">{t('vm.type')}</th>
              <th scope="col">{t('vm.ip')}</th>
              <th scope="col">{t('vm.resources')}</th>
              {operator && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {vms.data?.map((vm) => {
              const busy = vm.state === 'creating' || vm.state === 'deleting';
              return (
                <tr key={vm.id}>
                  <td>
                    {vm.childHostId ? <Link to={`/hosts/${vm.childHostId}`}>{vm.name}</Link> : vm.name}
                    <div className="muted small">{vm.hostname}</div>
                  </td>
                  <td>
                    <Badge group="childState" value={vm.state} />
                    {vm.state === 'error' && vm.error && <div className="small error-text">{vm.error}</div>}
                    {vm.createJobId && vm.state === 'creating' && (
                      <div className="small">
                        <Link to={`/jobs/${vm.createJobId}`}>{t('jobs.view')}</Link>
                      </div>
                    )}
                  </td>
                  <td>{t(`hypervisor.${vm.childType}`)}</td>
                  <td>{vm.ip ?? '—'}</td>
                  <td className="small">
                    {t('vm.resourceSummary', { vcpus: vm.vcpus, memory: vm.memoryMb, disk: vm.diskGb })}
                  </td>
                  {operator && (
                    <td className="row-actions">
                      {vm.state === 'stopped' && (
                        <button type="button" disabled={busy} onClick={() => void run(t('vm.actionQueued', { name: vm.name }), () => api.childAction(hostId, vm.id, 'start'))}>
                          {t('vm.start')}
                        </button>
                      )}
                      {vm.state === 'running' && (
                        <>
                          <button type="button" onClick={() => void run(t('vm.actionQueued', { name: vm.name }), () => api.childAction(hostId, vm.id, 'stop'))}>
                            {t('vm.stop')}
                          </button>
                          <button type="button" onClick={() => void run(t('vm.actionQueued', { name: vm.name }), () => api.childAction(hostId, vm.id, 'restart'))}>
                            {t('vm.restart')}
                          </button>
                        </>
                      )}
                      {(vm.state === 'running' || vm.state === 'error') && (
                        <button type="button" className="danger" onClick={() => void forceStop(vm)}>
                          {t('vm.forceStop')}
                        </button>
                      )}
                      <button type="button" className="danger" disabled={vm.state === 'deleting'} onClick={() => void remove(vm)}>
                        {t('common.delete')}
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
            {vms.data && vms.data.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t('vm.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {creating && <CreateVmDialog hostId={hostId} childType={creating} onClose={() => setCreating(null)} />}
    </section>
  );
}
